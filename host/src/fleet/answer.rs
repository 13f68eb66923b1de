//! `ao answer`: a human's choice typed into the dialog their agent shows, through the
//! runtime (`sdk::answer`), only if the dialog is still the one they saw.

use crate::Error;
use crate::fleet::Fleet;
use crate::store::session::Session;
use ao_plugin_api::slots::runtime::{ANSWER_DIALOG, AnswerOutcome, AnswerRequest};

/// Answers the dialog on `s`'s screen with `choice`. `fingerprint` is the dialog the human
/// saw; without one, the dialog ao last recorded for the session stands in for it.
pub async fn answer(
    fleet: &Fleet,
    s: &Session,
    choice: &str,
    fingerprint: Option<&str>,
) -> Result<AnswerOutcome, Error> {
    let handle = crate::fleet::send::runtime_handle(s)?;
    let p = fleet.project(&s.project)?;
    let agent = s.agent.as_deref().unwrap_or(&p.agent);
    let screen = fleet.screen_rules(p, agent).await.ok_or_else(|| {
        Error::Invalid(format!(
            "agent `{agent}` does not describe its dialogs, so ao cannot answer one safely: \
             answer in its terminal (`ao open {}`)",
            s.id
        ))
    })?;
    let seen = s.activity_fact.as_ref().and_then(|a| a.dialog.as_ref());
    let fingerprint = match (fingerprint, seen) {
        (Some(f), _) => f.to_owned(),
        (None, Some(d)) => d.fingerprint.clone(),
        (None, None) => {
            return Err(Error::Invalid(format!(
                "ao has not recorded a dialog on `{}` (see `ao status`); if you see one in its \
                 terminal, pass its fingerprint with --dialog or answer there",
                s.id
            )));
        }
    };
    let runtime = fleet.runtime(p, &handle.runtime).await?;
    if !runtime.implements(ANSWER_DIALOG) {
        return Err(Error::Invalid(format!(
            "runtime `{}` cannot answer dialogs: answer in the agent's terminal (`ao open {}`)",
            handle.runtime, s.id
        )));
    }
    runtime
        .answer_dialog(&AnswerRequest {
            handle,
            choice: choice.to_owned(),
            fingerprint: Some(fingerprint),
            screen,
        })
        .await
}
