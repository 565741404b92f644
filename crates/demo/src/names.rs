//! Tables and generators for plausible synthetic names: townships, villages, county departments
//! and people of 金乡县. Every person is invented; any likeness to a real one is chance.

use crate::rng::Rng;
use std::collections::HashSet;

/// The 13 township-level units in code order (370828001…013); the first four are street offices.
pub const TOWNSHIPS: [&str; 13] = [
    "金乡街道",
    "高河街道",
    "王丕街道",
    "鱼山街道",
    "鸡黍镇",
    "化雨镇",
    "胡集镇",
    "马庙镇",
    "羊山镇",
    "司马镇",
    "卜集镇",
    "霄云镇",
    "兴隆镇",
];

/// Villages that always exist, each placed first in the first 管区 of its township.
pub const NAMED_VILLAGES: [(&str, &[&str]); 7] = [
    ("鸡黍镇", &["寻庄村", "李集村"]),
    ("化雨镇", &["霍堌村"]),
    ("胡集镇", &["韩庄村"]),
    ("马庙镇", &["西王楼村"]),
    ("羊山镇", &["邵刘村"]),
    ("司马镇", &["湘子庙村"]),
    ("兴隆镇", &["周楼村"]),
];

/// 系统机关党委 and the departments whose 机关党支部 they lead, most prominent first (the small
/// demo keeps only the first of some systems).
pub const SYSTEMS: [(&str, [&str; 5]); 11] = [
    (
        "党群系统机关党委",
        [
            "县委组织部",
            "县委办公室",
            "县委宣传部",
            "县委统战部",
            "县总工会",
        ],
    ),
    (
        "政府综合系统机关党委",
        [
            "县政府办公室",
            "县发展和改革局",
            "县统计局",
            "县审计局",
            "县行政审批服务局",
        ],
    ),
    (
        "宣传文化系统机关党委",
        [
            "县文化和旅游局",
            "县融媒体中心",
            "县档案馆",
            "县图书馆",
            "县文学艺术界联合会",
        ],
    ),
    (
        "政法系统机关党委",
        [
            "县委政法委",
            "县公安局",
            "县司法局",
            "县人民法院",
            "县人民检察院",
        ],
    ),
    (
        "经济发展系统机关党委",
        [
            "县工业和信息化局",
            "县商务局",
            "县市场监督管理局",
            "县大蒜产业发展服务中心",
            "县投资促进中心",
        ],
    ),
    (
        "农业农村系统机关党委",
        [
            "县农业农村局",
            "县水务局",
            "县乡村振兴服务中心",
            "县林业发展中心",
            "县供销合作社",
        ],
    ),
    (
        "城建交通系统机关党委",
        [
            "县交通运输局",
            "县住房和城乡建设局",
            "县自然资源和规划局",
            "县综合行政执法局",
            "县城市管理服务中心",
        ],
    ),
    (
        "教育系统机关党委",
        [
            "县教育和体育局",
            "县第一中学",
            "县第二中学",
            "县实验小学",
            "县职业中等专业学校",
        ],
    ),
    (
        "卫生健康系统机关党委",
        [
            "县卫生健康局",
            "县人民医院",
            "县中医院",
            "县妇幼保健院",
            "县疾病预防控制中心",
        ],
    ),
    (
        "财政金融系统机关党委",
        [
            "县财政局",
            "县税务局",
            "县医疗保障局",
            "县金融服务中心",
            "县农村商业银行",
        ],
    ),
    (
        "社会事业系统机关党委",
        [
            "县民政局",
            "县人力资源和社会保障局",
            "县退役军人事务局",
            "县应急管理局",
            "县残疾人联合会",
        ],
    ),
];

/// Which systems the small demo keeps one branch of (组织部, 农业农村局, 交通运输局, 教育和体育局).
pub const SMALL_SYSTEMS: [usize; 4] = [0, 5, 6, 7];

pub const ALLIANCES: [&str; 5] = [
    "城区党建联盟",
    "乡村振兴党建联盟",
    "大蒜产业链党建联盟",
    "教育卫生党建联盟",
    "红色物业党建联盟",
];

/// A department's branch: schools, hospitals and the like have a 党支部, offices a 机关党支部.
pub fn organ_branch_name(dept: &str) -> String {
    let institution = ["学校", "中学", "小学", "医院", "中医院", "保健院", "银行"]
        .iter()
        .any(|s| dept.ends_with(s));
    if institution {
        format!("{dept}党支部")
    } else {
        format!("{dept}机关党支部")
    }
}

const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// 1 → 一, 12 → 十二, 20 → 二十, 35 → 三十五 (up to 99).
pub fn numeral(n: usize) -> String {
    let (tens, ones) = (n / 10 % 10, n % 10);
    let mut s = String::new();
    match tens {
        0 => {}
        1 => s.push('十'),
        t => {
            s.push_str(DIGITS[t]);
            s.push('十');
        }
    }
    if ones != 0 || tens == 0 {
        s.push_str(DIGITS[ones]);
    }
    s
}

/// "第一", "第二"…
pub fn ordinal(n: usize) -> String {
    format!("第{}", numeral(n))
}

/// Common surnames, most frequent first (weighted by `Rng::skewed`); 金乡 has many 李, 王, 张.
const SURNAMES: [&str; 64] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "孙", "马", "朱", "胡", "郭", "何",
    "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "田",
    "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "魏", "苏", "吕", "丁", "任", "沈",
    "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "邵", "霍",
];

const MALE_CHARS: [&str; 40] = [
    "伟", "强", "军", "磊", "勇", "涛", "明", "杰", "刚", "建", "国", "华", "平", "辉", "鹏", "斌",
    "超", "波", "峰", "亮", "成", "东", "林", "海", "宁", "文", "新", "广", "庆", "德", "志", "俊",
    "兴", "利", "春", "永", "振", "保", "光", "学",
];

const FEMALE_CHARS: [&str; 30] = [
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "玲", "燕", "红", "梅", "琳", "萍", "洁", "雪",
    "婷", "慧", "莉", "兰", "英", "秀", "凤", "萌", "颖", "倩", "佳", "晶", "琴", "荣",
];

const NEUTRAL_CHARS: [&str; 14] = [
    "玉", "金", "文", "晓", "建", "春", "云", "雨", "瑞", "嘉", "子", "思", "安", "欣",
];

/// A full name: a surname and one or two given-name characters suited to the gender.
pub fn person_name(rng: &mut Rng, male: bool) -> String {
    let surname = SURNAMES[rng.skewed(SURNAMES.len())];
    let own: &[&str] = if male { &MALE_CHARS } else { &FEMALE_CHARS };
    if rng.chance(0.75) {
        // Two characters: the first sometimes a neutral generation character (玉, 晓, 建…).
        let table: &[&str] = if rng.chance(0.4) { &NEUTRAL_CHARS } else { own };
        let first = given_char(rng, table, &[surname]);
        let second = given_char(rng, own, &[surname, first]);
        format!("{surname}{first}{second}")
    } else {
        format!("{surname}{}", given_char(rng, own, &[surname]))
    }
}

/// A character of `table` other than those in `not` (no 林林, no 王伟伟).
fn given_char(rng: &mut Rng, table: &[&'static str], not: &[&str]) -> &'static str {
    // The tables are much longer than `not`, so this ends after a try or two.
    loop {
        let c = rng.pick_str(table);
        if !not.contains(&c) {
            return c;
        }
    }
}

/// Mainland mobile prefixes in common use.
const PHONE_PREFIXES: [&str; 16] = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "158", "177",
    "180", "186", "188",
];

pub fn phone(rng: &mut Rng) -> String {
    format!(
        "{}{:08}",
        rng.pick_str(&PHONE_PREFIXES),
        rng.below(100_000_000)
    )
}

const VILLAGE_SUFFIXES: [&str; 15] = [
    "庄", "楼", "集", "屯", "营", "堂", "庙", "寨", "店", "园", "桥", "口", "洼", "铺", "堌堆",
];
const VILLAGE_PREFIXES: [&str; 9] = ["前", "后", "东", "西", "南", "北", "大", "小", "新"];

fn village_stem(rng: &mut Rng) -> String {
    let surname = SURNAMES[rng.skewed(SURNAMES.len())];
    if rng.chance(0.08) {
        // Two lineages in one village: 邵刘村, 张李村.
        let other = SURNAMES[rng.skewed(SURNAMES.len())];
        if other != surname {
            return format!("{surname}{other}");
        }
    }
    let prefix = if rng.chance(0.3) {
        rng.pick_str(&VILLAGE_PREFIXES)
    } else {
        ""
    };
    format!("{prefix}{surname}{}", rng.pick_str(&VILLAGE_SUFFIXES))
}

const COMMUNITY_FIRST: [&str; 20] = [
    "金", "奎", "文", "鸣", "凤", "兴", "和", "安", "康", "福", "泰", "锦", "明", "阳", "嘉", "新",
    "春", "华", "丰", "润",
];
const COMMUNITY_SECOND: [&str; 16] = [
    "城", "苑", "园", "华", "兴", "安", "康", "和", "盛", "泰", "源", "湖", "山", "河", "桥", "庭",
];

fn community_stem(rng: &mut Rng) -> String {
    let a = rng.pick_str(&COMMUNITY_FIRST);
    let mut b = rng.pick_str(&COMMUNITY_SECOND);
    while b == a {
        b = rng.pick_str(&COMMUNITY_SECOND);
    }
    format!("{a}{b}")
}

/// A village (…村) or community (…社区) name not yet in `taken`. After many collisions it
/// numbers the stem (张庄二村), as real counties do.
pub fn unique_place(rng: &mut Rng, community: bool, taken: &mut HashSet<String>) -> String {
    let suffix = if community { "社区" } else { "村" };
    let mut stem = String::new();
    for _ in 0..200 {
        stem = if community {
            community_stem(rng)
        } else {
            village_stem(rng)
        };
        let name = format!("{stem}{suffix}");
        if taken.insert(name.clone()) {
            return name;
        }
    }
    let numbered = (2..100)
        .map(|n| format!("{stem}{}{suffix}", numeral(n)))
        .find(|name| !taken.contains(name))
        .unwrap_or_else(|| format!("{stem}{}{suffix}", taken.len()));
    taken.insert(numbered.clone());
    numbered
}

/// The schooling a cohort of members typically has, most common first, with weights in
/// hundredths.
pub type Schooling = &'static [(&'static str, u64)];

/// A member's profile (民族, 学历, 人员类别, 入党 and 转正 dates) as the national system keeps it:
/// mostly 汉族 with some 回族, as in 济宁, the 学历 drawn from `schooling`, 转正 a year after
/// joining.
pub fn profile(
    rng: &mut Rng,
    schooling: Schooling,
    joined: Option<chrono::NaiveDate>,
) -> taizhang_store::NewPerson {
    let ethnicity = if rng.chance(0.03) { "回族" } else { "汉族" };
    let mut roll = rng.below(100);
    let education = schooling
        .iter()
        .find(|(_, w)| {
            let hit = roll < *w;
            roll = roll.saturating_sub(*w);
            hit
        })
        .map_or(schooling[0].0, |(e, _)| e);
    taizhang_store::NewPerson {
        ethnicity: Some(ethnicity.to_string()),
        education: Some(education.to_string()),
        member_category: Some("full".to_string()),
        joined_on: joined,
        confirmed_on: joined.and_then(|j| j.checked_add_days(chrono::Days::new(365))),
        ..Default::default()
    }
}
