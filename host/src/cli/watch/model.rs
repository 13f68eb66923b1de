//! What `ao status --watch` shows, as data: the sessions ordered by how much they need a
//! human, the latest events, the selection (kept on the same session across refreshes), and the
//! message being typed. Pure apart from `refresh`'s reads.

use ao::config::Config;
use ao::store::events::EventRecord;
use ao::store::session::{Session, Status};

/// How many events the bottom pane keeps.
pub(crate) const EVENTS: usize = 8;

/// Bytes read from the end of each event log (the latest events are there).
const TAIL: u64 = 64 * 1024;

/// How much a status needs a human: 0 first.
pub(crate) fn attention(st: Status) -> u8 {
    match st {
        Status::NeedsInput | Status::Stuck | Status::Errored | Status::Killed => 0,
        Status::CiFailed | Status::ChangesRequested => 1,
        Status::Mergeable | Status::Approved => 2,
        st if st.is_terminal() => 4,
        _ => 3,
    }
}

#[derive(Default)]
pub(crate) struct Model {
    pub(crate) sessions: Vec<Session>,
    pub(crate) events: Vec<EventRecord>,
    selected: Option<String>,
    /// A message being typed for the selected session.
    pub(crate) input: Option<String>,
    /// One line of feedback (sent, failed, attach ended).
    pub(crate) flash: Option<String>,
    pub(crate) now: u64,
}

impl Model {
    /// Re-reads sessions and events.
    pub(crate) fn refresh(&mut self, config: &Config) {
        self.now = ao::fleet::now_ms();
        match crate::cli::context::gather(config) {
            Ok(g) => {
                // A session file that cannot be read is said, never just left out.
                if let Some((path, why)) = g.corrupt.first() {
                    let more = match g.corrupt.len() {
                        1 => String::new(),
                        n => format!(" (and {} more)", n - 1),
                    };
                    self.flash = Some(format!("cannot read {}: {why}{more}", path.display()));
                }
                self.set_sessions(g.sessions)
            }
            Err(e) => self.flash = Some(format!("could not read the sessions: {e:#}")),
        }
        let mut events = Vec::new();
        for id in config.projects.keys() {
            if let Ok(store) = crate::cli::context::project_store(config, id) {
                events.extend(tail(&store.events_file()));
            }
        }
        events.sort_by_key(|e| e.ts);
        let skip = events.len().saturating_sub(EVENTS);
        self.events = events.split_off(skip);
    }

    /// Replaces the sessions, ordered by attention, keeping the selection on its session.
    pub(crate) fn set_sessions(&mut self, mut sessions: Vec<Session>) {
        sessions.sort_by(|a, b| {
            (attention(a.status), &a.project, &a.id).cmp(&(attention(b.status), &b.project, &b.id))
        });
        self.sessions = sessions;
        if self.selected_index().is_none() {
            self.selected = self.sessions.first().map(|s| s.id.clone());
        }
    }

    pub(crate) fn selected_index(&self) -> Option<usize> {
        let id = self.selected.as_ref()?;
        self.sessions.iter().position(|s| &s.id == id)
    }

    pub(crate) fn selected(&self) -> Option<&Session> {
        self.selected_index().map(|i| &self.sessions[i])
    }

    /// Moves the selection by `delta` rows, within the list.
    pub(crate) fn step(&mut self, delta: isize) {
        if self.sessions.is_empty() {
            return;
        }
        let at = self.selected_index().unwrap_or(0) as isize;
        let last = self.sessions.len() as isize - 1;
        let to = (at + delta).clamp(0, last) as usize;
        self.selected = Some(self.sessions[to].id.clone());
    }

    /// How many sessions need a human now.
    pub(crate) fn urgent(&self) -> usize {
        self.sessions
            .iter()
            .filter(|s| attention(s.status) == 0)
            .count()
    }
}

/// The records at the end of an event log.
fn tail(path: &std::path::Path) -> Vec<EventRecord> {
    ao::store::events::EventLog::new(path.to_path_buf(), u64::MAX, 1).tail(TAIL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, st: Status) -> Session {
        let mut s = Session::new(id, "app", 0);
        s.status = st;
        s
    }

    #[test]
    fn the_sessions_that_need_a_human_come_first_and_the_selection_stays_put() {
        let mut m = Model::default();
        m.set_sessions(vec![
            s("app-1", Status::Working),
            s("app-2", Status::NeedsInput),
            s("app-3", Status::CiFailed),
            s("app-4", Status::Cleanup),
        ]);
        let order: Vec<&str> = m.sessions.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(order, ["app-2", "app-3", "app-1", "app-4"]);
        assert_eq!(m.selected().unwrap().id, "app-2");
        assert_eq!(m.urgent(), 1);
        m.step(2);
        assert_eq!(m.selected().unwrap().id, "app-1");
        m.step(10);
        assert_eq!(m.selected().unwrap().id, "app-4");
        // app-2 got its answer: the list reorders, the selection stays on app-4.
        m.set_sessions(vec![
            s("app-1", Status::Working),
            s("app-2", Status::Working),
            s("app-4", Status::Cleanup),
        ]);
        assert_eq!(m.selected().unwrap().id, "app-4");
        m.step(-1);
        assert_eq!(m.selected().unwrap().id, "app-2");
    }
}
