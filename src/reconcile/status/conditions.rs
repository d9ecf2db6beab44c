//! Conditions as upstream's `meta.SetStatusCondition` keeps them: one per
//! type, and a condition whose status does not change keeps its
//! lastTransitionTime.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

pub const AVAILABLE: &str = "Available";
pub const READY: &str = "Ready";
pub const READY_FOR_DELETION: &str = "ReadyForDeletion";
pub const GATEWAY_EXTERNAL_READY: &str = "GatewayExternalReady";
pub const ADMIN_WEB_EXTERNAL_READY: &str = "AdminWebExternalReady";

pub const TRUE: &str = "True";
pub const FALSE: &str = "False";

/// A condition of type `type_` (its lastTransitionTime is set when it is
/// stored, see [`set`]).
pub fn condition(
    type_: &str,
    status: bool,
    reason: &str,
    message: impl Into<String>,
    observed_generation: Option<i64>,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if status { TRUE } else { FALSE }.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation,
        last_transition_time: Time(Timestamp::UNIX_EPOCH),
    }
}

/// Stores `new` in `conditions`: a new type is appended with
/// lastTransitionTime `now`; an existing one takes reason, message and
/// observedGeneration, and `now` as lastTransitionTime only when its status
/// changes.
pub fn set(conditions: &mut Vec<Condition>, mut new: Condition, now: &Time) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) if old.status == new.status => {
            new.last_transition_time = old.last_transition_time.clone();
            *old = new;
        }
        Some(old) => {
            new.last_transition_time = whole_seconds(now);
            *old = new;
        }
        None => {
            new.last_transition_time = whole_seconds(now);
            conditions.push(new);
        }
    }
}

/// Removes the condition of type `type_`, if any.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

pub fn find<'c>(conditions: &'c [Condition], type_: &str) -> Option<&'c Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// The condition of type `type_` exists and is True.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == TRUE)
}

/// `now` without its fraction of a second: the API server stores
/// metav1.Time in whole seconds, so a status planned with fractions would
/// never equal the one read back.
pub fn whole_seconds(now: &Time) -> Time {
    Time(Timestamp::from_second(now.0.as_second()).unwrap_or(now.0))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).unwrap())
    }

    #[test]
    fn a_new_condition_gets_now_in_whole_seconds() {
        let mut list = Vec::new();
        let now = Time(Timestamp::new(100, 500_000_000).unwrap());
        set(&mut list, condition(READY, true, "R", "m", Some(2)), &now);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].last_transition_time, at(100));
        assert_eq!(list[0].observed_generation, Some(2));
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_time_but_takes_the_new_reason() {
        let mut list = Vec::new();
        set(
            &mut list,
            condition(READY, false, "A", "one", Some(1)),
            &at(10),
        );
        set(
            &mut list,
            condition(READY, false, "B", "two", Some(2)),
            &at(20),
        );
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].last_transition_time, at(10));
        assert_eq!(
            (list[0].reason.as_str(), list[0].message.as_str()),
            ("B", "two")
        );
        assert_eq!(list[0].observed_generation, Some(2));
    }

    #[test]
    fn a_changed_status_takes_now() {
        let mut list = Vec::new();
        set(&mut list, condition(READY, false, "A", "", None), &at(10));
        set(&mut list, condition(READY, true, "A", "", None), &at(20));
        assert_eq!(list[0].last_transition_time, at(20));
        assert_eq!(list[0].status, TRUE);
    }

    #[test]
    fn other_types_are_left_alone_and_remove_drops_one_type() {
        let mut list = Vec::new();
        set(&mut list, condition(READY, true, "A", "", None), &at(1));
        set(&mut list, condition(AVAILABLE, true, "B", "", None), &at(2));
        set(&mut list, condition(READY, false, "C", "", None), &at(3));
        assert_eq!(find(&list, AVAILABLE).unwrap().last_transition_time, at(2));
        assert!(is_true(&list, AVAILABLE));
        assert!(!is_true(&list, READY));
        remove(&mut list, AVAILABLE);
        assert_eq!(list.len(), 1);
        assert!(!is_true(&list, AVAILABLE));
    }
}
