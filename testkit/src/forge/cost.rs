//! GitHub's GraphQL rate-limit score, computed from the query before it runs: add up the
//! requests needed to fill each connection (a connection's `first`/`last`, multiplied by the
//! page sizes of the connections it is nested in), divide by 100, round, and charge at least 1.

use async_graphql::Positioned;
use async_graphql::parser::types::Field;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};

/// The score of `query` with `variables`, or the parse error.
pub(crate) fn score(query: &str, variables: &serde_json::Value) -> Result<u64, String> {
    let doc = async_graphql::parser::parse_query(query).map_err(|e| e.to_string())?;
    let mut requests = 0u64;
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(m) => m.values().collect(),
    };
    for op in ops {
        walk(&doc, &op.node.selection_set, 1, variables, &mut requests, 0);
    }
    Ok(((requests as f64 / 100.0).round() as u64).max(1))
}

fn walk(
    doc: &ExecutableDocument,
    set: &Positioned<SelectionSet>,
    multiplier: u64,
    vars: &serde_json::Value,
    requests: &mut u64,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for sel in &set.node.items {
        match &sel.node {
            Selection::Field(f) => {
                let size = page_size(&f.node, vars);
                let inner = match size {
                    Some(n) => {
                        *requests += multiplier;
                        multiplier.saturating_mul(n.max(1))
                    }
                    None => multiplier,
                };
                walk(doc, &f.node.selection_set, inner, vars, requests, depth + 1);
            }
            Selection::InlineFragment(i) => walk(
                doc,
                &i.node.selection_set,
                multiplier,
                vars,
                requests,
                depth + 1,
            ),
            Selection::FragmentSpread(s) => {
                if let Some(frag) = doc.fragments.get(&s.node.fragment_name.node) {
                    walk(
                        doc,
                        &frag.node.selection_set,
                        multiplier,
                        vars,
                        requests,
                        depth + 1,
                    );
                }
            }
        }
    }
}

/// `first` or `last` of a field, resolving variables.
fn page_size(f: &Field, vars: &serde_json::Value) -> Option<u64> {
    let arg = |name: &str| {
        f.arguments
            .iter()
            .find(|(n, _)| n.node.as_str() == name)
            .map(|(_, v)| v.node.to_string())
    };
    let text = arg("first").or_else(|| arg("last"))?;
    match text.strip_prefix('$') {
        Some(var) => vars.get(var).and_then(serde_json::Value::as_u64),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::score;

    #[test]
    fn githubs_documented_example() {
        // GitHub's rate-limit docs: repositories 1 + issues 100 + labels 100*50 = 5101
        // requests → 51 points.
        let q = "query { viewer { login repositories(first: 100) { edges { node { id
                 issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } } }";
        assert_eq!(score(q, &serde_json::json!({})).unwrap(), 51);
        // Variables count like literals: 1 + 100 = 101 requests → 1 point.
        let q = "query($n: Int!) { viewer { repositories(first: $n) { nodes { issues(first: 50) { nodes { id } } } } } }";
        assert_eq!(score(q, &serde_json::json!({"n": 100})).unwrap(), 1);
        assert_eq!(
            score("{ rateLimit { cost } }", &serde_json::json!({})).unwrap(),
            1
        );
    }
}
