//! API clients, backend-neutral: what a change does to a client, and how its audit entries
//! are stored. Both backends decide alike and differ only in SQL.
//!
//! A client's audit entry keeps its state before and after the change as a small JSON object
//! of this module's own (never the wire type, which may change while stored rows stay), so a
//! deleted client's entries still say what it was.

use crate::common::set;
use crate::*;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use skillgrid_core::api::ClientAuditAction;

/// A client as one side of an audit entry: everything but its secret and token epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientState {
    pub name: String,
    pub scopes: Vec<String>,
    pub active: bool,
    /// Milliseconds, as every stored time.
    pub created_at: i64,
    pub updated_at: i64,
    pub secret_created_at: i64,
}

impl ClientRecord {
    /// What an audit entry keeps of the client.
    pub fn state(&self) -> ClientState {
        ClientState {
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            active: self.active,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            secret_created_at: self.secret_created_at.0,
        }
    }
}

/// A client's row, as both backends select it (their `COLS`).
#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
    /// Its key: the position of lists' cursors.
    pub pk: i64,
    uuid: Uuid,
    org_uuid: Uuid,
    name: String,
    secret_hash: String,
    scopes: String,
    active: bool,
    token_epoch: i64,
    created_at: i64,
    updated_at: i64,
    secret_at: i64,
}

impl From<ClientRow> for ClientRecord {
    fn from(r: ClientRow) -> Self {
        ClientRecord {
            id: r.uuid.into(),
            org_id: r.org_uuid.into(),
            name: r.name,
            secret_hash: r.secret_hash,
            scopes: scopes_from(&r.scopes),
            active: r.active,
            token_epoch: r.token_epoch,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
            secret_created_at: Timestamp(r.secret_at),
        }
    }
}

/// A client's row with its organization's key, for a change to record.
#[derive(sqlx::FromRow)]
pub(crate) struct LocatedRow {
    #[sqlx(flatten)]
    pub client: ClientRow,
    pub org_pk: i64,
}

/// An audit entry's row, as both backends select it.
#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    uuid: Uuid,
    at: i64,
    request_id: String,
    actor_uuid: Option<Uuid>,
    client_uuid: Uuid,
    action: i16,
    before: Option<String>,
    after: Option<String>,
}

impl AuditRow {
    /// The entry and its cursor position.
    pub(crate) fn entry(self) -> Result<(i64, ClientAuditRecord)> {
        Ok((
            self.id,
            ClientAuditRecord {
                id: self.uuid,
                at: Timestamp(self.at),
                request_id: self.request_id,
                actor: self.actor_uuid.map(ClientId::new),
                client_id: self.client_uuid.into(),
                action: action_from(self.action.into())?,
                before: state_from(self.before)?,
                after: state_from(self.after)?,
            },
        ))
    }
}

/// Scopes as stored: space-separated.
pub(crate) fn scopes_text(scopes: &[String]) -> String {
    scopes.join(" ")
}

pub(crate) fn scopes_from(text: &str) -> Vec<String> {
    text.split_whitespace().map(String::from).collect()
}

pub(crate) fn state_json(c: &ClientRecord) -> Result<String> {
    Ok(serde_json::to_string(&c.state()).context("serialising a client's audit state")?)
}

fn state_from(text: Option<String>) -> Result<Option<ClientState>> {
    text.map(|t| {
        serde_json::from_str(&t)
            .context("a stored client audit state is not valid")
            .map_err(StoreError::from)
    })
    .transpose()
}

pub(crate) fn action_code(a: ClientAuditAction) -> i16 {
    match a {
        ClientAuditAction::Created => 1,
        ClientAuditAction::Updated => 2,
        ClientAuditAction::SecretRotated => 3,
        ClientAuditAction::Deleted => 4,
    }
}

fn action_from(code: i64) -> Result<ClientAuditAction> {
    Ok(match code {
        1 => ClientAuditAction::Created,
        2 => ClientAuditAction::Updated,
        3 => ClientAuditAction::SecretRotated,
        4 => ClientAuditAction::Deleted,
        other => {
            return Err(StoreError::Other(anyhow::anyhow!(
                "unknown client audit action {other}"
            )))
        }
    })
}

/// [`Conflict::ScopesChanged`] unless the client still holds the scopes the caller checked.
pub(crate) fn check_scopes(current: &ClientRecord, if_scopes: Option<&[String]>) -> Result<()> {
    match if_scopes {
        Some(expected) if !same_scopes(&current.scopes, expected) => {
            Err(StoreError::Conflict(Conflict::ScopesChanged))
        }
        _ => Ok(()),
    }
}

fn same_scopes(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|s| b.contains(s))
}

/// The client after `change`, and what the change was; `None` when it changes nothing.
///
/// Disabling a client or rotating its secret moves its token epoch, which refuses every token
/// issued before; enabling it again does not bring those back.
pub(crate) fn apply(
    current: &ClientRecord,
    change: &ClientChange,
    now: Timestamp,
) -> Result<Option<(ClientRecord, ClientAuditAction)>> {
    check_scopes(current, change.if_scopes.as_deref())?;
    let mut c = current.clone();
    let renamed = set(&mut c.name, &change.name);
    let switched = set(&mut c.active, &change.active);
    // Scopes are a set: the same ones in another order change nothing.
    set(&mut c.scopes, &change.scopes);
    let rescoped = !same_scopes(&c.scopes, &current.scopes);
    let rotated = change.secret_hash.is_some();
    if let Some(h) = &change.secret_hash {
        c.secret_hash = h.clone();
        c.secret_created_at = now;
    }
    let disabled = current.active && !c.active;
    if rotated || disabled {
        c.token_epoch += 1;
    }
    if !(rotated || renamed || rescoped || switched) {
        return Ok(None);
    }
    c.updated_at = now;
    let action = if rotated {
        ClientAuditAction::SecretRotated
    } else {
        ClientAuditAction::Updated
    };
    Ok(Some((c, action)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ClientRecord {
        ClientRecord {
            id: Uuid::now_v7().into(),
            org_id: Uuid::now_v7().into(),
            name: "importer".into(),
            secret_hash: "h1".into(),
            scopes: vec!["admin:agent:read".into(), "admin:agent:write".into()],
            active: true,
            token_epoch: 3,
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
            secret_created_at: Timestamp(1),
        }
    }

    fn change() -> ClientChange {
        ClientChange::default()
    }

    #[test]
    fn disabling_and_rotating_move_the_epoch_and_enabling_does_not() {
        let c = client();
        let off = ClientChange {
            active: Some(false),
            ..change()
        };
        let (d, action) = apply(&c, &off, Timestamp(5)).unwrap().unwrap();
        assert_eq!(
            (d.token_epoch, d.active, action),
            (4, false, ClientAuditAction::Updated)
        );
        assert_eq!(d.updated_at, Timestamp(5));
        let on = ClientChange {
            active: Some(true),
            ..change()
        };
        let (e, _) = apply(&d, &on, Timestamp(6)).unwrap().unwrap();
        assert_eq!((e.token_epoch, e.active), (4, true));
        let rotate = ClientChange {
            secret_hash: Some("h2".into()),
            ..change()
        };
        let (r, action) = apply(&e, &rotate, Timestamp(7)).unwrap().unwrap();
        assert_eq!(
            (r.token_epoch, action),
            (5, ClientAuditAction::SecretRotated)
        );
        assert_eq!(
            (r.secret_hash.as_str(), r.secret_created_at),
            ("h2", Timestamp(7))
        );
    }

    #[test]
    fn a_change_to_what_is_already_there_changes_nothing() {
        let c = client();
        let same = ClientChange {
            name: Some("importer".into()),
            scopes: Some(vec!["admin:agent:write".into(), "admin:agent:read".into()]),
            active: Some(true),
            ..change()
        };
        assert!(apply(&c, &same, Timestamp(9)).unwrap().is_none());
        // Narrowing scopes does not move the epoch: tokens lose the scope, not their life.
        let narrow = ClientChange {
            scopes: Some(vec!["admin:agent:read".into()]),
            ..change()
        };
        let (n, _) = apply(&c, &narrow, Timestamp(9)).unwrap().unwrap();
        assert_eq!(n.token_epoch, c.token_epoch);
    }

    #[test]
    fn a_client_whose_scopes_moved_since_they_were_checked_is_a_conflict() {
        let c = client();
        let stale = ClientChange {
            active: Some(false),
            if_scopes: Some(vec!["admin:agent:read".into()]),
            ..change()
        };
        assert!(matches!(
            apply(&c, &stale, Timestamp(2)),
            Err(StoreError::Conflict(Conflict::ScopesChanged))
        ));
        let fresh = ClientChange {
            if_scopes: Some(c.scopes.clone()),
            ..stale
        };
        assert!(apply(&c, &fresh, Timestamp(2)).unwrap().is_some());
    }

    #[test]
    fn audit_states_and_actions_round_trip() {
        let c = client();
        let back = state_from(Some(state_json(&c).unwrap())).unwrap().unwrap();
        assert_eq!(back, c.state());
        for a in [
            ClientAuditAction::Created,
            ClientAuditAction::Updated,
            ClientAuditAction::SecretRotated,
            ClientAuditAction::Deleted,
        ] {
            assert_eq!(action_from(action_code(a) as i64).unwrap(), a);
        }
    }
}
