//! Model prices, in one place. List prices in US dollars per million tokens, as published by
//! the model vendors; a project overrides or extends them in the agent's config (`prices`),
//! because prices change and private deployments differ.

use crate::slots::agent::Cost;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a million tokens of each kind cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Price {
    /// Uncached input.
    pub input: f64,
    /// Output (reasoning included).
    pub output: f64,
    /// Input read from the prompt cache.
    #[serde(default)]
    pub cache_read: f64,
    /// Input written to the prompt cache.
    #[serde(default)]
    pub cache_write: f64,
}

const fn p(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Price {
    Price {
        input,
        output,
        cache_read,
        cache_write,
    }
}

/// Built-in prices, matched by model-name prefix (the longest prefix wins), then by family.
const DEFAULTS: &[(&str, Price)] = &[
    // Anthropic
    ("claude-opus-4-5", p(5.0, 25.0, 0.50, 6.25)),
    ("claude-opus-4-1", p(15.0, 75.0, 1.50, 18.75)),
    ("claude-opus-4", p(15.0, 75.0, 1.50, 18.75)),
    ("claude-sonnet-4", p(3.0, 15.0, 0.30, 3.75)),
    ("claude-3-7-sonnet", p(3.0, 15.0, 0.30, 3.75)),
    ("claude-3-5-sonnet", p(3.0, 15.0, 0.30, 3.75)),
    ("claude-haiku-4", p(1.0, 5.0, 0.10, 1.25)),
    ("claude-3-5-haiku", p(0.80, 4.0, 0.08, 1.0)),
    // OpenAI
    ("gpt-5-mini", p(0.25, 2.0, 0.025, 0.0)),
    ("gpt-5-nano", p(0.05, 0.40, 0.005, 0.0)),
    ("gpt-5", p(1.25, 10.0, 0.125, 0.0)),
    ("gpt-4.1-mini", p(0.40, 1.60, 0.10, 0.0)),
    ("gpt-4.1", p(2.0, 8.0, 0.50, 0.0)),
    ("gpt-4o-mini", p(0.15, 0.60, 0.075, 0.0)),
    ("gpt-4o", p(2.50, 10.0, 1.25, 0.0)),
    ("o4-mini", p(1.10, 4.40, 0.275, 0.0)),
    ("o3", p(2.0, 8.0, 0.50, 0.0)),
    ("codex-mini", p(1.50, 6.0, 0.375, 0.0)),
];

/// When no prefix matches: a model whose name contains the family word is priced like it.
const FAMILIES: &[(&str, Price)] = &[
    ("opus", p(5.0, 25.0, 0.50, 6.25)),
    ("sonnet", p(3.0, 15.0, 0.30, 3.75)),
    ("haiku", p(1.0, 5.0, 0.10, 1.25)),
];

/// The price table an agent plugin uses.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    overrides: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The built-in prices, with `overrides` (model-name prefix → price) taking precedence.
    pub fn new(overrides: BTreeMap<String, Price>) -> Self {
        Self { overrides }
    }

    /// The price of `model`, if known. Provider prefixes (`anthropic/`, `openai/`) are ignored.
    pub fn lookup(&self, model: &str) -> Option<Price> {
        let name = model
            .rsplit('/')
            .next()
            .unwrap_or(model)
            .to_ascii_lowercase();
        let by_prefix = |table: &mut dyn Iterator<Item = (&str, Price)>| {
            table
                .filter(|(prefix, _)| name.starts_with(&prefix.to_ascii_lowercase()))
                .max_by_key(|(prefix, _)| prefix.len())
                .map(|(_, price)| price)
        };
        by_prefix(&mut self.overrides.iter().map(|(k, v)| (k.as_str(), *v)))
            .or_else(|| by_prefix(&mut DEFAULTS.iter().copied()))
            .or_else(|| {
                FAMILIES
                    .iter()
                    .find(|(family, _)| name.contains(family))
                    .map(|(_, price)| *price)
            })
    }

    /// `cost` with its dollar figure filled in from `model`'s price (left `None` when the model
    /// is unknown: no price is better than a wrong one).
    pub fn priced(&self, model: Option<&str>, mut cost: Cost) -> Cost {
        if let Some(price) = model.and_then(|m| self.lookup(m)) {
            let m = 1_000_000.0;
            cost.usd = Some(
                cost.input_tokens as f64 * price.input / m
                    + cost.output_tokens as f64 * price.output / m
                    + cost.cache_read_tokens as f64 * price.cache_read / m
                    + cost.cache_write_tokens as f64 * price.cache_write / m,
            );
        }
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_then_family_then_nothing() {
        let t = PriceTable::default();
        assert_eq!(t.lookup("claude-opus-4-5-20251101").unwrap().input, 5.0);
        assert_eq!(t.lookup("claude-opus-4-20250514").unwrap().input, 15.0);
        assert_eq!(t.lookup("gpt-5-codex").unwrap().output, 10.0);
        assert_eq!(t.lookup("gpt-5-mini").unwrap().input, 0.25);
        assert_eq!(t.lookup("anthropic/claude-sonnet-4-5").unwrap().input, 3.0);
        assert_eq!(t.lookup("claude-fable-5-sonnet").unwrap().input, 3.0);
        assert!(t.lookup("llama-3-70b").is_none());
    }

    #[test]
    fn overrides_win_and_pricing_adds_every_kind() {
        let t = PriceTable::new(BTreeMap::from([(
            "gpt-5".to_string(),
            p(1.0, 2.0, 0.5, 0.0),
        )]));
        let cost = Cost {
            input_tokens: 1_000_000,
            output_tokens: 500_000,
            cache_read_tokens: 2_000_000,
            cache_write_tokens: 0,
            usd: None,
        };
        assert_eq!(
            t.priced(Some("gpt-5-codex"), cost.clone()).usd,
            Some(1.0 + 1.0 + 1.0)
        );
        assert_eq!(t.priced(Some("mystery"), cost.clone()).usd, None);
        assert_eq!(t.priced(None, cost).usd, None);
    }
}
