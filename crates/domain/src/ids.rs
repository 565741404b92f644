//! The ids of taizhang's entities, one type each, so that an organisation's id cannot be passed
//! where a person's is wanted. Each is a database row id: it serialises as the bare integer (the
//! JSON API is unchanged) and parses from a URL path segment.
//!
//! None implements `utoipa::ToSchema` on purpose: a schema field holding an id says
//! `#[schema(value_type = i64)]`, so the OpenAPI document keeps plain integers (a derived schema
//! would become a `$ref`), and a field that forgets it does not compile.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

macro_rules! ids {
    ($($(#[$m:meta])* $name:ident;)*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(id: i64) -> Self {
                $name(id)
            }

            /// The row id, to bind in a query.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;
            fn from_str(s: &str) -> Result<Self, ParseIntError> {
                s.parse().map($name)
            }
        }

        /// The schema of the bare integer, for `#[schema(value_type = …)]` and hand-written schemas.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <i64 as utoipa::PartialSchema>::schema()
            }
        }
    )*};
}

ids! {
    /// A county (the tenant).
    CountyId;
    /// An organisation node.
    OrgId;
    /// A person.
    PersonId;
    /// A position (任职) a person holds.
    PositionId;
    /// A cross-link (派驻, 包保, …).
    LinkId;
    /// A record (台账记录).
    RecordId;
    /// One version of a ledger type.
    LedgerTypeId;
    /// A user account.
    UserId;
    /// An entry's place in a county's audit chain.
    AuditSeq;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_and_parses_as_the_bare_integer() {
        let id = OrgId::new(42);
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!(serde_json::from_str::<OrgId>("42").unwrap(), id);
        assert_eq!(id.to_string(), "42");
        assert_eq!("42".parse::<OrgId>(), Ok(id));
        assert!("o42".parse::<OrgId>().is_err());
        assert_eq!(id.get(), 42);
    }
}
