//! The ledger types every county starts with. They are ordinary data: an administrator can
//! change them like any type defined in the admin page.

use crate::ledger::{CadenceRule, FieldDef, FieldEquals, FieldKind, LedgerTypeDef};
use crate::org::OrgKind;
use crate::period::Cadence;

fn field(key: &str, label: &str, kind: FieldKind) -> FieldDef {
    FieldDef {
        key: key.into(),
        label: label.into(),
        kind,
        required: false,
        unit: None,
        phrase: None,
        retired: false,
    }
}

fn required(mut f: FieldDef) -> FieldDef {
    f.required = true;
    f
}

fn counted(mut f: FieldDef, unit: &str, phrase: &str) -> FieldDef {
    f.unit = Some(unit.into());
    f.phrase = Some(phrase.into());
    f
}

fn text(key: &str, label: &str) -> FieldDef {
    field(key, label, FieldKind::Text { max_len: None })
}
fn long_text(key: &str, label: &str) -> FieldDef {
    field(key, label, FieldKind::LongText { max_len: None })
}
fn int(key: &str, label: &str) -> FieldDef {
    field(
        key,
        label,
        FieldKind::Integer {
            min: Some(0),
            max: Some(1_000_000),
        },
    )
}
fn choice(key: &str, label: &str, options: &[&str], breakdown: bool) -> FieldDef {
    field(
        key,
        label,
        FieldKind::Choice {
            options: options.iter().map(|s| s.to_string()).collect(),
            breakdown,
        },
    )
}
fn multi(key: &str, label: &str, options: &[&str]) -> FieldDef {
    field(
        key,
        label,
        FieldKind::MultiChoice {
            options: options.iter().map(|s| s.to_string()).collect(),
        },
    )
}
fn people(key: &str, label: &str) -> FieldDef {
    field(key, label, FieldKind::People { max: Some(500) })
}
fn photos() -> FieldDef {
    field(
        "photos",
        "照片/附件",
        FieldKind::Attachment { max: Some(9) },
    )
}

const BRANCHES: [OrgKind; 4] = [
    OrgKind::Village,
    OrgKind::Community,
    OrgKind::OrganBranch,
    OrgKind::Enterprise,
];

fn cadence(
    label: &str,
    cadence: Cadence,
    when: Option<(&str, &str)>,
    grace_days: u32,
) -> CadenceRule {
    CadenceRule {
        label: label.into(),
        cadence,
        org_kinds: BRANCHES.to_vec(),
        when: when.map(|(f, v)| FieldEquals {
            field: f.into(),
            value: v.into(),
        }),
        grace_days,
    }
}

fn ledger(
    key: &str,
    name: &str,
    description: &str,
    verb: &str,
    fields: Vec<FieldDef>,
    cadences: Vec<CadenceRule>,
) -> LedgerTypeDef {
    LedgerTypeDef {
        key: key.into(),
        name: name.into(),
        description: description.into(),
        verb: verb.into(),
        count_unit: "次".into(),
        fields,
        cadences,
    }
}

pub const THREE_MEETINGS_KINDS: [&str; 4] = ["支部党员大会", "支部委员会", "党小组会", "党课"];
pub const FIVE_VISITS: [&str; 5] = ["党员干部", "村民代表", "致富能手", "脱贫户", "信访人"];
/// 党员志愿服务的类别: a member's own sign-in, one record per member and activity.
pub const VOLUNTEER_KINDS: [&str; 6] = [
    "环境整治",
    "政策宣传",
    "帮老助残",
    "文明实践",
    "平安巡逻",
    "其他",
];
pub const FIVE_QUESTIONS: [&str; 5] = ["班子运行", "村情民意", "发展路子", "群众疾苦", "矛盾纠纷"];

pub fn builtin_types() -> Vec<LedgerTypeDef> {
    vec![
        ledger(
            "three_meetings",
            "三会一课",
            "支部党员大会、支部委员会、党小组会和党课",
            "召开",
            vec![
                required(choice("meeting_kind", "会议类型", &THREE_MEETINGS_KINDS, true)),
                required(text("topic", "主题")),
                people("attendees", "参会人员"),
                counted(int("attendance", "实到人数"), "人次", "参会党员"),
                long_text("minutes", "会议记录"),
                photos(),
            ],
            vec![
                cadence("支部委员会（每月）", Cadence::Monthly, Some(("meeting_kind", "支部委员会")), 10),
                cadence("党小组会（每月）", Cadence::Monthly, Some(("meeting_kind", "党小组会")), 10),
                cadence("支部党员大会（每季度）", Cadence::Quarterly, Some(("meeting_kind", "支部党员大会")), 15),
                cadence("党课（每季度）", Cadence::Quarterly, Some(("meeting_kind", "党课")), 15),
            ],
        ),
        ledger(
            "theme_day",
            "主题党日",
            "每月固定主题党日活动",
            "开展",
            vec![
                required(text("theme", "活动主题")),
                people("attendees", "参加人员"),
                counted(int("attendance", "参加人数"), "人次", "参与党员"),
                long_text("content", "活动内容"),
                photos(),
            ],
            vec![cadence("主题党日（每月）", Cadence::Monthly, None, 10)],
        ),
        ledger(
            "life_meeting",
            "组织生活会",
            "组织生活会、民主生活会和民主评议党员",
            "召开",
            vec![
                required(choice("meeting_kind", "类型", &["组织生活会", "民主生活会", "民主评议党员"], true)),
                required(text("topic", "主题")),
                people("attendees", "参会人员"),
                counted(int("attendance", "参会人数"), "人次", "参会党员"),
                counted(int("criticisms", "批评意见"), "条", "提出批评意见"),
                long_text("minutes", "会议记录"),
            ],
            vec![cadence("组织生活会（每年）", Cadence::Yearly, Some(("meeting_kind", "组织生活会")), 31)],
        ),
        ledger(
            "training",
            "学习培训",
            "第一议题、专题报告会、月末党课、培训班等",
            "举办",
            vec![
                required(text("title", "培训主题")),
                required(choice("form", "形式", &["第一议题", "专题报告会", "月末党课", "集中学习", "培训班"], true)),
                counted(field("sessions", "期数", FieldKind::Integer { min: Some(1), max: Some(1000) }), "期", "共计"),
                counted(int("attendance", "培训人次"), "人次", "培训"),
                counted(int("online_views", "线上人次"), "人次", "在线收看"),
                text("lecturer", "授课人"),
            ],
            vec![],
        ),
        ledger(
            "visit",
            "走访",
            "五必访五必问：必访党员干部、村民代表、致富能手、脱贫户、信访人；必问班子运行、村情民意、发展路子、群众疾苦、矛盾纠纷",
            "开展",
            vec![
                required(choice("category", "走访对象（五必访）", &FIVE_VISITS, true)),
                multi("topics", "问询内容（五必问）", &FIVE_QUESTIONS),
                required(counted(field("households", "走访户数", FieldKind::Integer { min: Some(1), max: Some(10_000) }), "户", "走访群众")),
                people("visitors", "走访人员"),
                counted(int("problems_found", "收集问题"), "个", "收集问题"),
                counted(int("problems_solved", "解决困难"), "个", "解决实际困难"),
                long_text("notes", "走访情况"),
            ],
            vec![],
        ),
        ledger(
            "lecture",
            "宣讲",
            "政策、理论、廉政和专题宣讲",
            "开展",
            vec![
                required(text("topic", "宣讲题目")),
                required(choice("kind", "宣讲类别", &["政策宣讲", "理论宣讲", "廉政宣讲", "专题宣讲"], true)),
                people("lecturers", "宣讲人"),
                counted(int("audience", "受众人次"), "人次", "受众"),
                text("place", "地点"),
            ],
            vec![],
        ),
        ledger(
            "inspection",
            "督查",
            "随机抽查、现场观摩、交叉评比和专项督查",
            "开展",
            vec![
                required(choice("kind", "督查方式", &["随机抽查", "现场观摩", "交叉评比", "专项督查"], true)),
                field("target", "被督查单位", FieldKind::Organisation),
                people("inspectors", "督查人员"),
                counted(int("findings", "发现问题"), "个", "发现问题"),
                choice("result", "评价结果", &["优秀", "良好", "一般", "较差"], false),
                long_text("notes", "督查情况"),
            ],
            vec![],
        ),
        ledger(
            "volunteer",
            "志愿服务",
            "党员志愿服务签到：每名党员每次参加一条记录",
            "参加",
            vec![
                required(choice("kind", "服务类别", &VOLUNTEER_KINDS, true)),
                required(people("volunteers", "参加党员")),
                counted(field("hours", "服务时长", FieldKind::Integer { min: Some(1), max: Some(24) }), "小时", "志愿服务"),
                text("place", "地点"),
            ],
            vec![],
        ),
        ledger(
            "hazard_check",
            "隐患排查",
            "安全生产、消防、燃气、冬季取暖等隐患排查",
            "开展",
            vec![
                required(choice("area", "排查领域", &["安全生产", "消防", "燃气", "冬季取暖", "防汛", "其他"], true)),
                required(counted(int("hazards_found", "发现隐患"), "处", "排查安全风险隐患")),
                counted(int("hazards_fixed", "已整改"), "处", "整改隐患"),
                counted(int("households", "排查户数"), "户", "入户排查"),
                people("inspectors", "排查人员"),
                long_text("notes", "情况说明"),
            ],
            vec![],
        ),
    ]
}
