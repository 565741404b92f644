//! The organisation graph: node kinds, cross-link kinds, and how an organisation is addressed.

use crate::ledger::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use crate::ids::{CountyId, OrgId, PersonId};

macro_rules! labelled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $key:literal, $zh:literal, $en:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub fn key(self) -> &'static str { match self { $($name::$variant => $key,)* } }
            pub fn label_cn(self) -> &'static str { match self { $($name::$variant => $zh,)* } }
            pub fn label_en(self) -> &'static str { match self { $($name::$variant => $en,)* } }
        }

        impl FromStr for $name {
            type Err = UnknownKey;
            fn from_str(s: &str) -> Result<Self, UnknownKey> {
                match s { $($key => Ok($name::$variant),)* _ => Err(UnknownKey(s.to_string())) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.key()) }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的类型：{0}")]
pub struct UnknownKey(pub String);

labelled_enum! {
    /// What an organisation node is. The tree is 县委 → 镇街/机关工委 → 管区/系统机关党委 → 村/社区/机关党支部 → 党小组/网格.
    OrgKind {
        County = "county", "县委", "County committee";
        Township = "township", "镇街党(工)委", "Township committee";
        ManagementArea = "management_area", "管区", "Management area";
        Village = "village", "村党组织", "Village Party organisation";
        Community = "community", "社区党组织", "Community Party organisation";
        PartyGroup = "party_group", "党小组", "Party group";
        Grid = "grid", "网格", "Grid";
        OrganWorkCommittee = "organ_work_committee", "机关工委", "Organs work committee";
        SystemCommittee = "system_committee", "系统机关党委", "System organs committee";
        OrganBranch = "organ_branch", "机关党支部", "Organ Party branch";
        Enterprise = "enterprise", "企业党组织", "Enterprise Party organisation";
        CoverTeam = "cover_team", "包保小组", "Covering team";
        Alliance = "alliance", "党建联盟", "Party-building alliance";
    }
}

impl OrgKind {
    /// Kinds that hold Party members and run 三会一课 (a "branch" in the cadence sense).
    pub fn is_branch(self) -> bool {
        matches!(
            self,
            OrgKind::Village | OrgKind::Community | OrgKind::OrganBranch | OrgKind::Enterprise
        )
    }

    /// Groupings that stand beside the tree (their members are linked, not children).
    pub fn is_grouping(self) -> bool {
        matches!(self, OrgKind::CoverTeam | OrgKind::Alliance)
    }

    /// Whether an organisation of kind `child` may be placed under one of this kind: a 县委 is
    /// never placed under anything, 镇街 and the 机关工委 sit directly under the 县委, and a
    /// 党小组 or 网格 holds no organisation. Everything else may go where a county puts it.
    pub fn may_hold(self, child: OrgKind) -> bool {
        match (self, child) {
            (_, OrgKind::County) => false,
            (OrgKind::PartyGroup | OrgKind::Grid, _) => false,
            (parent, OrgKind::Township | OrgKind::OrganWorkCommittee) => parent == OrgKind::County,
            _ => true,
        }
    }
}

#[cfg(test)]
mod kind_tests {
    use super::OrgKind;

    #[test]
    fn the_tree_keeps_its_levels() {
        assert!(OrgKind::County.may_hold(OrgKind::Township));
        assert!(OrgKind::Township.may_hold(OrgKind::ManagementArea));
        assert!(OrgKind::ManagementArea.may_hold(OrgKind::Village));
        assert!(OrgKind::Village.may_hold(OrgKind::PartyGroup));
        assert!(OrgKind::Community.may_hold(OrgKind::Grid));
        assert!(!OrgKind::Township.may_hold(OrgKind::Township));
        assert!(!OrgKind::Village.may_hold(OrgKind::OrganWorkCommittee));
        assert!(!OrgKind::PartyGroup.may_hold(OrgKind::Village));
        assert!(!OrgKind::Grid.may_hold(OrgKind::PartyGroup));
        for k in OrgKind::ALL {
            assert!(!k.may_hold(OrgKind::County));
        }
    }
}

labelled_enum! {
    /// Cross-links between organisations, or from a person to an organisation, each over a period.
    LinkKind {
        Dispatch = "dispatch", "派驻", "Dispatch (first secretary)";
        Pairing = "pairing", "结对/联建", "Pairing";
        Cover = "cover", "包保", "Covering";
        DualReport = "dual_report", "双报到", "Dual reporting";
        AllianceMember = "alliance_member", "联盟成员", "Alliance member";
    }
}

impl LinkKind {
    /// Whether a link of this kind starts from a person (派驻, 双报到) rather than an organisation.
    pub fn from_person(self) -> bool {
        matches!(self, LinkKind::Dispatch | LinkKind::DualReport)
    }

    /// Whether a link of this kind extends the scope of the person or unit it starts from to the
    /// target: a first secretary works in the village, a covering team in its towns.
    pub fn grants_scope(self) -> bool {
        matches!(self, LinkKind::Dispatch | LinkKind::Cover)
    }
}

labelled_enum! {
    /// What an organisation is in a 党建联盟 it is linked to (the `role` of an `alliance_member`
    /// link): its rotating chair or a member.
    AllianceRole {
        Chair = "chair", "轮值主席", "Rotating chair";
        Member = "member", "成员", "Member";
    }
}

labelled_enum! {
    /// A position (任职) a person holds in an organisation over a period.
    PositionTitle {
        Secretary = "secretary", "书记", "Secretary";
        DeputySecretary = "deputy_secretary", "副书记", "Deputy secretary";
        CommitteeMember = "committee_member", "委员", "Committee member";
        Member = "member", "党员", "Party member";
        Liaison = "liaison", "联络员", "Liaison";
        CoverCadre = "cover_cadre", "包保干部", "Covering cadre";
        FirstSecretary = "first_secretary", "第一书记", "First secretary";
        GridWorker = "grid_worker", "网格员", "Grid worker";
        AffairsStaff = "affairs_staff", "党务干部", "Party-affairs staff";
        Lecturer = "lecturer", "宣讲员", "Lecturer";
    }
}

/// How the API and URLs name an organisation: its official code where it has one
/// (370828 = 金乡县), otherwise `o` followed by its internal id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgRef {
    Code(String),
    Id(OrgId),
}

impl OrgRef {
    pub fn for_org(id: OrgId, code: Option<&str>) -> String {
        match code {
            Some(c) if !c.is_empty() => c.to_string(),
            _ => format!("o{id}"),
        }
    }
}

impl FromStr for OrgRef {
    type Err = UnknownKey;
    fn from_str(s: &str) -> Result<Self, UnknownKey> {
        let s = s.trim();
        if let Some(id) = s.strip_prefix('o') {
            return id
                .parse()
                .map(OrgRef::Id)
                .map_err(|_| UnknownKey(s.to_string()));
        }
        if is_valid_code(s) {
            Ok(OrgRef::Code(s.to_string()))
        } else {
            Err(UnknownKey(s.to_string()))
        }
    }
}

/// Official codes: GB/T 2260 and statistical division codes (6, 9 or 12 digits), or an
/// 18-character 统一社会信用代码 (GB 32100, uppercase letters without I, O, Z, S, V).
pub fn is_valid_code(s: &str) -> bool {
    let digits = s.bytes().all(|b| b.is_ascii_digit());
    (digits && matches!(s.len(), 6 | 9 | 12)) || is_valid_credit_code(s)
}

/// 统一社会信用代码 check (GB 32100-2015).
pub fn is_valid_credit_code(s: &str) -> bool {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    if s.len() != 18 {
        return false;
    }
    let values: Option<Vec<usize>> = s.chars().map(|c| ALPHABET.find(c)).collect();
    let Some(values) = values else { return false };
    let sum: usize = values[..17].iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    values[17] == check
}

/// An organisation's (or a county's) name: not blank, and within `text::ORG_NAME` (60
/// characters, no control or bidirectional characters); trimmed. A blank name is refused with
/// `blank_code`.
pub fn validate_name(name: &str, blank_code: &str) -> Result<String, FieldError> {
    let n = crate::text::ORG_NAME.check(name)?;
    if n.is_empty() {
        return Err(FieldError::new("name", blank_code, "名称不能为空"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_refs() {
        assert_eq!(
            "370828".parse::<OrgRef>().unwrap(),
            OrgRef::Code("370828".into())
        );
        assert_eq!("o42".parse::<OrgRef>().unwrap(), OrgRef::Id(OrgId::new(42)));
        assert!("o4x".parse::<OrgRef>().is_err());
        assert!("3708".parse::<OrgRef>().is_err());
        assert_eq!(OrgRef::for_org(OrgId::new(7), None), "o7");
        assert_eq!(OrgRef::for_org(OrgId::new(7), Some("370828")), "370828");
    }

    #[test]
    fn credit_codes() {
        // A well-known published example.
        assert!(is_valid_credit_code("91350100M000100Y43"));
        assert!(!is_valid_credit_code("91350100M000100Y44"));
        assert!(!is_valid_credit_code("91350100M000100Y4"));
    }

    #[test]
    fn kinds_round_trip() {
        for k in OrgKind::ALL {
            assert_eq!(k.key().parse::<OrgKind>().unwrap(), *k);
        }
        for k in LinkKind::ALL {
            assert_eq!(k.key().parse::<LinkKind>().unwrap(), *k);
        }
        assert!("nope".parse::<OrgKind>().is_err());
        for r in AllianceRole::ALL {
            assert_eq!(r.key().parse::<AllianceRole>().unwrap(), *r);
            assert_eq!(
                serde_json::to_string(r).unwrap(),
                format!("\"{}\"", r.key())
            );
        }
        assert!("主席".parse::<AllianceRole>().is_err());
    }

    #[test]
    fn names() {
        assert_eq!(
            validate_name("  鸡黍镇 ", "org.bad_name").unwrap(),
            "鸡黍镇"
        );
        assert_eq!(
            validate_name("   ", "org.bad_name").unwrap_err().code,
            "org.bad_name"
        );
        assert_eq!(
            validate_name(&"村".repeat(61), "org.bad_name")
                .unwrap_err()
                .code,
            "too_long"
        );
        assert_eq!(
            validate_name("鸡黍镇\u{202E}", "org.bad_name")
                .unwrap_err()
                .code,
            "bad_chars"
        );
    }
}
