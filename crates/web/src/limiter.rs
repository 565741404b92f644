//! Limits on guessing passwords, held in the server's memory and keyed by the client address
//! (see `client_ip`) and the user name as typed — known or not, so that the limits themselves
//! never tell which names exist:
//!
//! - per address: at most `ADDRESS_MAX` failed logins in `ADDRESS_WINDOW`, for any names;
//! - per (name, address): `PAIR_MAX` failures in a row close the password path of that name from
//!   that address for `PAIR_CLOSED` — the owner elsewhere is not locked out;
//! - per name, from all addresses: after `ACCOUNT_MAX` failures in `ACCOUNT_WINDOW` the name is
//!   throttled for addresses it has not logged in from before (`KNOWN_FOR`), so a distributed
//!   guesser is slowed while the owner's usual address still gets in.
//!
//! Every refusal names how long to wait (`Retry-After`). An attempt is counted when it starts
//! (so concurrent guesses cannot overrun a limit) and forgiven when it succeeds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const ADDRESS_MAX: u32 = 30;
pub const ADDRESS_WINDOW: Duration = Duration::from_secs(5 * 60);
pub const PAIR_MAX: u32 = 5;
pub const PAIR_CLOSED: Duration = Duration::from_secs(15 * 60);
pub const ACCOUNT_MAX: u32 = 30;
pub const ACCOUNT_WINDOW: Duration = Duration::from_secs(15 * 60);
pub const KNOWN_FOR: Duration = Duration::from_secs(30 * 86_400);
/// Addresses remembered per account, and entries kept before expired ones are pruned.
const KNOWN_PER_ACCOUNT: usize = 8;
const PRUNE_AT: usize = 20_000;
/// Names longer than this are counted by their first characters.
const NAME_CHARS: usize = 64;

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Address,
    AccountAddress,
    Account,
}

impl Limit {
    pub fn key(self) -> &'static str {
        match self {
            Limit::Address => "address",
            Limit::AccountAddress => "account_address",
            Limit::Account => "account",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub limit: Limit,
    pub retry_after: Duration,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The password was right (whatever stage the session starts at).
    Succeeded,
    /// A wrong password or one-time code, or an unknown name.
    Failed,
    /// Neither (the second factor is still to be typed, an internal error): not counted.
    Undecided,
}

#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

impl Window {
    fn current(&mut self, now: Instant, len: Duration) -> &mut Self {
        if now.duration_since(self.start) >= len {
            *self = Window {
                start: now,
                count: 0,
            };
        }
        self
    }

    fn left(&self, now: Instant, len: Duration) -> Duration {
        (self.start + len)
            .saturating_duration_since(now)
            .max(Duration::from_secs(1))
    }
}

#[derive(Clone, Copy)]
struct Pair {
    failures: u32,
    closed_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    addresses: HashMap<IpAddr, Window>,
    pairs: HashMap<(String, IpAddr), Pair>,
    accounts: HashMap<String, Window>,
    known: HashMap<String, Vec<(IpAddr, Instant)>>,
}

#[derive(Default)]
pub struct LoginLimiter {
    state: Mutex<State>,
}

fn name_key(name: &str) -> String {
    name.chars().take(NAME_CHARS).collect()
}

impl State {
    fn prune(&mut self, now: Instant) {
        if self.addresses.len() > PRUNE_AT {
            self.addresses
                .retain(|_, w| now.duration_since(w.start) < ADDRESS_WINDOW);
        }
        if self.accounts.len() > PRUNE_AT {
            self.accounts
                .retain(|_, w| now.duration_since(w.start) < ACCOUNT_WINDOW);
        }
        if self.pairs.len() > PRUNE_AT {
            self.pairs
                .retain(|_, p| p.closed_until.is_some_and(|t| t > now));
        }
    }

    fn is_known(&self, name: &str, ip: IpAddr, now: Instant) -> bool {
        self.known.get(name).is_some_and(|list| {
            list.iter()
                .any(|(a, at)| *a == ip && now.duration_since(*at) < KNOWN_FOR)
        })
    }
}

impl LoginLimiter {
    /// Starts a login attempt for `name` from `ip`, or says which limit refuses it.
    pub fn begin(&self, ip: IpAddr, name: &str) -> Result<(), Limited> {
        self.begin_at(ip, name, Instant::now())
    }

    /// Starts an attempt that names no account (the first-start code): the address limit only.
    pub fn begin_anonymous(&self, ip: IpAddr) -> Result<(), Limited> {
        self.begin_anonymous_at(ip, Instant::now())
    }

    pub fn finish(&self, ip: IpAddr, name: &str, outcome: Outcome) -> Option<Limit> {
        self.finish_at(ip, Some(name), outcome, Instant::now())
    }

    pub fn finish_anonymous(&self, ip: IpAddr, outcome: Outcome) {
        self.finish_at(ip, None, outcome, Instant::now());
    }

    /// Forgets a name's failures (its password was just reset or activated).
    pub fn forget(&self, name: &str) {
        let name = name_key(name);
        let mut s = self.lock();
        s.pairs.retain(|(n, _), _| *n != name);
        s.accounts.remove(&name);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin_anonymous_at(&self, ip: IpAddr, now: Instant) -> Result<(), Limited> {
        let mut s = self.lock();
        s.prune(now);
        let a = s
            .addresses
            .entry(ip)
            .or_insert(Window {
                start: now,
                count: 0,
            })
            .current(now, ADDRESS_WINDOW);
        if a.count >= ADDRESS_MAX {
            return Err(Limited {
                limit: Limit::Address,
                retry_after: a.left(now, ADDRESS_WINDOW),
            });
        }
        a.count += 1;
        Ok(())
    }

    fn begin_at(&self, ip: IpAddr, name: &str, now: Instant) -> Result<(), Limited> {
        let name = name_key(name);
        let mut s = self.lock();
        s.prune(now);
        let fresh = Window {
            start: now,
            count: 0,
        };
        let address = *s
            .addresses
            .entry(ip)
            .or_insert(fresh)
            .current(now, ADDRESS_WINDOW);
        if address.count >= ADDRESS_MAX {
            return Err(Limited {
                limit: Limit::Address,
                retry_after: address.left(now, ADDRESS_WINDOW),
            });
        }
        let pair = s.pairs.entry((name.clone(), ip)).or_insert(Pair {
            failures: 0,
            closed_until: None,
        });
        match pair.closed_until {
            Some(until) if until > now => {
                return Err(Limited {
                    limit: Limit::AccountAddress,
                    retry_after: until
                        .saturating_duration_since(now)
                        .max(Duration::from_secs(1)),
                })
            }
            Some(_) => {
                *pair = Pair {
                    failures: 0,
                    closed_until: None,
                }
            }
            None if pair.failures >= PAIR_MAX => {
                // The last allowed attempts are still running.
                return Err(Limited {
                    limit: Limit::AccountAddress,
                    retry_after: PAIR_CLOSED,
                });
            }
            None => {}
        }
        let account = *s
            .accounts
            .entry(name.clone())
            .or_insert(fresh)
            .current(now, ACCOUNT_WINDOW);
        if account.count >= ACCOUNT_MAX && !s.is_known(&name, ip, now) {
            return Err(Limited {
                limit: Limit::Account,
                retry_after: account.left(now, ACCOUNT_WINDOW),
            });
        }
        // Counted now, forgiven on success.
        if let Some(a) = s.addresses.get_mut(&ip) {
            a.count += 1;
        }
        if let Some(p) = s.pairs.get_mut(&(name.clone(), ip)) {
            p.failures += 1;
        }
        if let Some(a) = s.accounts.get_mut(&name) {
            a.count += 1;
        }
        Ok(())
    }

    /// Ends an attempt begun with `begin`: forgives it, or keeps it counted. Returns the limit
    /// that this failure has just reached, if any (to be audited).
    fn finish_at(
        &self,
        ip: IpAddr,
        name: Option<&str>,
        outcome: Outcome,
        now: Instant,
    ) -> Option<Limit> {
        let mut s = self.lock();
        let forgive = outcome != Outcome::Failed;
        let mut reached = None;
        if let Some(a) = s.addresses.get_mut(&ip) {
            if forgive {
                a.count = a.count.saturating_sub(1);
            } else if a.count == ADDRESS_MAX {
                reached = Some(Limit::Address);
            }
        }
        let Some(name) = name.map(name_key) else {
            return reached;
        };
        if let Some(a) = s.accounts.get_mut(&name) {
            if forgive {
                a.count = a.count.saturating_sub(1);
            } else if a.count == ACCOUNT_MAX {
                reached = Some(Limit::Account);
            }
        }
        let key = (name.clone(), ip);
        match outcome {
            Outcome::Succeeded => {
                s.pairs.remove(&key);
                let list = s.known.entry(name).or_default();
                list.retain(|(a, at)| *a != ip && now.duration_since(*at) < KNOWN_FOR);
                list.push((ip, now));
                if list.len() > KNOWN_PER_ACCOUNT {
                    list.remove(0);
                }
            }
            Outcome::Undecided => {
                if let Some(p) = s.pairs.get_mut(&key) {
                    p.failures = p.failures.saturating_sub(1);
                }
            }
            Outcome::Failed => {
                if let Some(p) = s.pairs.get_mut(&key) {
                    if p.failures >= PAIR_MAX && p.closed_until.is_none() {
                        p.closed_until = Some(now + PAIR_CLOSED);
                        reached = Some(Limit::AccountAddress);
                    }
                }
            }
        }
        reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn fail(l: &LoginLimiter, a: IpAddr, name: &str, t: Instant) -> Result<Option<Limit>, Limited> {
        l.begin_at(a, name, t)?;
        Ok(l.finish_at(a, Some(name), Outcome::Failed, t))
    }

    #[test]
    fn limits_per_address_and_window() {
        let l = LoginLimiter::default();
        let (a, b) = (ip("127.0.0.1"), ip("127.0.0.2"));
        let t0 = Instant::now();
        for i in 0..ADDRESS_MAX {
            let reached = fail(&l, a, &format!("guess{i}"), t0).expect("allowed");
            assert_eq!(reached.is_some(), i + 1 == ADDRESS_MAX);
        }
        let refused = l.begin_at(a, "admin", t0).unwrap_err();
        assert_eq!(refused.limit, Limit::Address);
        assert_eq!(refused.retry_after, ADDRESS_WINDOW);
        assert!(
            l.begin_at(b, "admin", t0).is_ok(),
            "other addresses are not affected"
        );
        assert!(
            l.begin_at(a, "admin", t0 + ADDRESS_WINDOW).is_ok(),
            "a new window starts afresh"
        );
    }

    #[test]
    fn successes_do_not_count_and_pairs_close() {
        let l = LoginLimiter::default();
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let t0 = Instant::now();
        for _ in 0..100 {
            l.begin_at(a, "busy", t0).expect("an office of good logins");
            l.finish_at(a, Some("busy"), Outcome::Succeeded, t0);
        }
        for i in 0..PAIR_MAX {
            let reached = fail(&l, a, "viewer", t0).unwrap();
            assert_eq!(
                reached,
                (i + 1 == PAIR_MAX).then_some(Limit::AccountAddress)
            );
        }
        let refused = l.begin_at(a, "viewer", t0).unwrap_err();
        assert_eq!(refused.limit, Limit::AccountAddress);
        assert!(l.begin_at(b, "viewer", t0).is_ok(), "the owner elsewhere");
        assert!(l.begin_at(a, "other", t0).is_ok(), "other names from there");
        assert!(
            l.begin_at(a, "viewer", t0 + PAIR_CLOSED).is_ok(),
            "it reopens"
        );
    }

    #[test]
    fn concurrent_attempts_cannot_overrun_a_pair() {
        let l = LoginLimiter::default();
        let a = ip("10.0.0.3");
        let t0 = Instant::now();
        let started = (0..20).filter(|_| l.begin_at(a, "x", t0).is_ok()).count();
        assert_eq!(started, PAIR_MAX as usize);
    }

    #[test]
    fn a_throttled_name_admits_its_known_addresses() {
        let l = LoginLimiter::default();
        let office = ip("198.51.100.30");
        let t0 = Instant::now();
        l.begin_at(office, "jishu", t0).unwrap();
        l.finish_at(office, Some("jishu"), Outcome::Succeeded, t0);
        for i in 0..ACCOUNT_MAX {
            fail(&l, ip(&format!("203.0.113.{i}")), "jishu", t0).unwrap();
        }
        let refused = l.begin_at(ip("203.0.113.200"), "jishu", t0).unwrap_err();
        assert_eq!(refused.limit, Limit::Account);
        assert!(l.begin_at(office, "jishu", t0).is_ok());
        l.forget("jishu");
        assert!(l.begin_at(ip("203.0.113.200"), "jishu", t0).is_ok());
    }
}
