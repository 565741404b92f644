//! The checks a scheme passes before it is saved: keys, references to the county's ledger types,
//! fields and options and to other schemes (without cycles), the fields each kind of indicator
//! uses, raters' weights against their declared total, formulas, and bands without gaps or
//! overlaps. Every problem is listed with the indicator's line.

use super::bands::Bands;
use super::formula::Formula;
use super::scheme::{
    distinct, is_key, reads, Indicator, IndicatorKind, Measure, RankWithin, Scheme, SchemeContext,
    SchemeError, SchemeSpec, Source, Subject, MAX_DIMENSIONS, MAX_INDICATORS, MAX_ITEMS,
};
use super::score::Score;
use crate::ledger::FieldKind;
use std::collections::{HashMap, HashSet};

struct Problems {
    list: Vec<SchemeError>,
}

impl Problems {
    fn add(&mut self, code: &'static str, line: Option<usize>, path: String, message: String) {
        if self.list.len() < 100 {
            self.list.push(SchemeError {
                code,
                line,
                path,
                message,
            });
        }
    }
}

pub(crate) fn check(
    spec: SchemeSpec,
    ctx: &dyn SchemeContext,
    src: &Source<'_>,
) -> Result<Scheme, Vec<SchemeError>> {
    let mut p = Problems { list: Vec::new() };
    if !is_key(&spec.key) {
        p.add(
            "scheme.key",
            None,
            "key".into(),
            format!(
                "方案键名“{}”应为小写字母开头的字母、数字或下划线，至多40个",
                spec.key
            ),
        );
    }
    let name_len = spec.name.trim().chars().count();
    if name_len == 0 || name_len > 60 {
        p.add(
            "scheme.name",
            None,
            "name".into(),
            "方案名称应为1至60个字".into(),
        );
    }
    if spec.description.chars().count() > 2000 {
        p.add(
            "scheme.description",
            None,
            "description".into(),
            "说明不超过2000个字".into(),
        );
    }
    match &spec.subject {
        Subject::Org { org_kinds } if org_kinds.is_empty() => p.add(
            "scheme.subject",
            None,
            "subject.org_kinds".into(),
            "请列出参评的组织类型".into(),
        ),
        Subject::Person { positions } if positions.is_empty() => p.add(
            "scheme.subject",
            None,
            "subject.positions".into(),
            "请列出参评人员的职务".into(),
        ),
        _ => {}
    }
    check_dimensions(&spec, &mut p);
    if spec.indicators.is_empty() || spec.indicators.len() > MAX_INDICATORS {
        p.add(
            "scheme.indicators",
            None,
            "indicator".into(),
            format!(
                "指标应有1至{MAX_INDICATORS}项（现有{}项）",
                spec.indicators.len()
            ),
        );
    }
    let keys: HashSet<&str> = spec.indicators.iter().map(|i| i.key.as_str()).collect();
    if let Some(k) = distinct(spec.indicators.iter().map(|i| i.key.as_str())) {
        p.add(
            "scheme.duplicate_key",
            None,
            "indicator".into(),
            format!("指标键名“{k}”重复"),
        );
    }
    let dims: HashSet<&str> = spec.dimensions.iter().map(|d| d.key.as_str()).collect();
    let mut formulas = HashMap::new();
    for (n, ind) in spec.indicators.iter().enumerate() {
        let at = Place {
            n: Some(n),
            src,
            path: format!("indicator[{}]（{}）", n + 1, ind.key),
        };
        check_indicator(&spec, ind, &at, &dims, ctx, &mut p);
        if let (IndicatorKind::Formula, Some(text)) = (ind.kind, &ind.formula) {
            if let Some(f) = parse_formula(text, &at, ".formula", &keys, &mut p) {
                if f.names().contains(&ind.key) {
                    p.add(
                        "scheme.cycle",
                        at.line(".formula"),
                        format!("{}.formula", at.path),
                        "公式不能引用本指标自身".into(),
                    );
                }
                formulas.insert(ind.key.clone(), f);
            }
        }
    }
    let top = Place {
        n: None,
        src,
        path: "total".into(),
    };
    let total = spec
        .total
        .as_deref()
        .and_then(|t| parse_formula(t, &top, "", &keys, &mut p));
    let grade = spec.grade.as_ref().and_then(|s| bands(s, "grade", &mut p));
    let flag = spec.flag.as_ref().and_then(|s| bands(s, "flag", &mut p));
    if let Some(r) = &spec.rank {
        if r.ends > 100 {
            p.add(
                "scheme.rank",
                None,
                "rank.ends".into(),
                "两端名单各不超过100名".into(),
            );
        }
        if r.within == RankWithin::Branch && matches!(spec.subject, Subject::Org { .. }) {
            p.add(
                "scheme.rank",
                None,
                "rank.within".into(),
                "组织参评时应在镇街（town）或全县（county）范围内排名".into(),
            );
        }
    }
    check_scheme_cycles(&spec, ctx, src, &mut p);
    let order = compute_order(&spec, &formulas, src, &mut p);
    if !p.list.is_empty() {
        return Err(p.list);
    }
    Ok(Scheme {
        spec,
        formulas,
        total,
        grade,
        flag,
        order,
    })
}

/// An indicator (or the total) being checked, and where it is written.
struct Place<'s, 't> {
    n: Option<usize>,
    src: &'s Source<'t>,
    path: String,
}

impl Place<'_, '_> {
    fn line(&self, sub: &str) -> Option<usize> {
        self.src.line(self.n?, sub)
    }
}

fn check_dimensions(spec: &SchemeSpec, p: &mut Problems) {
    if spec.dimensions.len() > MAX_DIMENSIONS {
        p.add(
            "scheme.dimensions",
            None,
            "dimension".into(),
            format!("维度不超过{MAX_DIMENSIONS}个"),
        );
    }
    for (n, d) in spec.dimensions.iter().enumerate() {
        if !is_key(&d.key) || d.name.trim().is_empty() || d.name.chars().count() > 60 {
            p.add(
                "scheme.dimension",
                None,
                format!("dimension[{}]", n + 1),
                "维度应有键名（小写字母开头）和1至60个字的名称".into(),
            );
        }
    }
    if let Some(k) = distinct(spec.dimensions.iter().map(|d| d.key.as_str())) {
        p.add(
            "scheme.duplicate_key",
            None,
            "dimension".into(),
            format!("维度键名“{k}”重复"),
        );
    }
}

/// The fields each kind uses; any other field set is refused.
fn allowed(kind: IndicatorKind) -> &'static [&'static str] {
    match kind {
        IndicatorKind::Records => &["ledger_type", "measure", "field", "where"],
        IndicatorKind::Cadence => &["ledger_type", "where"],
        IndicatorKind::Rating => &["raters", "weights_total", "range"],
        IndicatorKind::Checklist => &["items", "evidence"],
        IndicatorKind::Entries => &["positive", "negative", "evidence"],
        IndicatorKind::Scheme => &["scheme"],
        IndicatorKind::Formula => &["formula"],
    }
}

fn fields_set(i: &Indicator) -> Vec<&'static str> {
    let mut set = Vec::new();
    let mut flag = |on: bool, name: &'static str| {
        if on {
            set.push(name);
        }
    };
    flag(i.ledger_type.is_some(), "ledger_type");
    flag(i.measure != Measure::Count, "measure");
    flag(i.field.is_some(), "field");
    flag(!i.filter.is_empty(), "where");
    flag(!i.raters.is_empty(), "raters");
    flag(i.weights_total.is_some(), "weights_total");
    flag(i.range.is_some(), "range");
    flag(!i.items.is_empty(), "items");
    flag(!i.positive.is_empty(), "positive");
    flag(!i.negative.is_empty(), "negative");
    flag(i.evidence, "evidence");
    flag(i.scheme.is_some(), "scheme");
    flag(i.formula.is_some(), "formula");
    set
}

fn kind_name(kind: IndicatorKind) -> &'static str {
    match kind {
        IndicatorKind::Records => "台账统计（records）",
        IndicatorKind::Cadence => "按期开展（cadence）",
        IndicatorKind::Rating => "评分（rating）",
        IndicatorKind::Checklist => "清单核查（checklist）",
        IndicatorKind::Entries => "正负向记实（entries）",
        IndicatorKind::Scheme => "引用方案（scheme）",
        IndicatorKind::Formula => "公式（formula）",
    }
}

fn check_indicator(
    spec: &SchemeSpec,
    ind: &Indicator,
    at: &Place,
    dims: &HashSet<&str>,
    ctx: &dyn SchemeContext,
    p: &mut Problems,
) {
    let add = |p: &mut Problems, code, sub: &str, msg: String| {
        p.add(code, at.line(sub), format!("{}{sub}", at.path), msg)
    };
    if !is_key(&ind.key) {
        add(
            p,
            "scheme.key",
            ".key",
            "指标键名应为小写字母开头的字母、数字或下划线，至多40个".into(),
        );
    }
    let n = ind.name.trim().chars().count();
    if n == 0 || n > 60 {
        add(p, "scheme.name", ".name", "指标名称应为1至60个字".into());
    }
    match &ind.dimension {
        Some(d) if !dims.contains(d.as_str()) => add(
            p,
            "scheme.unknown_dimension",
            ".dimension",
            format!("没有维度“{d}”，请先在 [[dimension]] 中列出"),
        ),
        _ => {}
    }
    let ok = allowed(ind.kind);
    for f in fields_set(ind) {
        if !ok.contains(&f) {
            add(
                p,
                "scheme.field_not_for_kind",
                &format!(".{f}"),
                format!("{}类指标不用“{f}”", kind_name(ind.kind)),
            );
        }
    }
    if let (Some(cap), Some(min)) = (ind.cap, ind.minimum) {
        if cap < min {
            add(p, "scheme.cap", ".cap", format!("上限{cap}小于下限{min}"));
        }
    }
    match ind.kind {
        IndicatorKind::Records | IndicatorKind::Cadence => check_ledger(ind, at, ctx, p),
        IndicatorKind::Rating => check_rating(ind, at, p),
        IndicatorKind::Checklist => check_items(&ind.items, "items", "核查项", at, p, false),
        IndicatorKind::Entries => {
            if ind.positive.is_empty() && ind.negative.is_empty() {
                add(
                    p,
                    "scheme.missing",
                    ".positive",
                    "正负向记实指标应列出正向（positive）或负向（negative）事项".into(),
                );
            }
            check_items(&ind.positive, "positive", "正向事项", at, p, true);
            check_items(&ind.negative, "negative", "负向事项", at, p, true);
            if let Some(k) = distinct(
                ind.positive
                    .iter()
                    .chain(&ind.negative)
                    .map(|i| i.key.as_str()),
            ) {
                add(
                    p,
                    "scheme.duplicate_key",
                    ".negative",
                    format!("事项键名“{k}”重复"),
                );
            }
        }
        IndicatorKind::Scheme => match &ind.scheme {
            None => add(
                p,
                "scheme.missing",
                ".scheme",
                "请填写引用的方案键名".into(),
            ),
            Some(s) if *s == spec.key => {
                add(p, "scheme.cycle", ".scheme", "方案不能引用自身".into())
            }
            Some(s) if ctx.scheme_reads(s).is_none() => add(
                p,
                "scheme.unknown_scheme",
                ".scheme",
                format!("没有方案“{s}”"),
            ),
            Some(_) => {}
        },
        IndicatorKind::Formula => {
            if ind.formula.is_none() {
                add(p, "scheme.missing", ".formula", "请填写公式".into());
            }
        }
    }
}

fn check_ledger(ind: &Indicator, at: &Place, ctx: &dyn SchemeContext, p: &mut Problems) {
    let path = |sub: &str| format!("{}{sub}", at.path);
    let Some(key) = &ind.ledger_type else {
        p.add(
            "scheme.missing",
            at.line(".ledger_type"),
            path(".ledger_type"),
            "请填写台账类型键名（ledger_type）".into(),
        );
        return;
    };
    let Some(def) = ctx.ledger_type(key) else {
        p.add(
            "scheme.unknown_ledger_type",
            at.line(".ledger_type"),
            path(".ledger_type"),
            format!("没有台账类型“{key}”"),
        );
        return;
    };
    match (ind.measure, &ind.field) {
        (Measure::Sum, None) => p.add(
            "scheme.missing",
            at.line(".field"),
            path(".field"),
            "按合计（sum）统计时请填写要合计的字段".into(),
        ),
        (Measure::Count, Some(_)) => p.add(
            "scheme.field_not_for_kind",
            at.line(".field"),
            path(".field"),
            "按条数（count）统计不用字段；合计某个字段请写 measure = \"sum\"".into(),
        ),
        (Measure::Sum, Some(f)) => match def.field(f) {
            None => p.add(
                "scheme.unknown_field",
                at.line(".field"),
                path(".field"),
                format!("台账类型“{}”没有字段“{f}”", def.name),
            ),
            Some(fd) if fd.kind.numeric_bounds().is_none() => p.add(
                "scheme.field_not_numeric",
                at.line(".field"),
                path(".field"),
                format!("字段“{}”不是数值，不能合计", fd.label),
            ),
            Some(_) => {}
        },
        (Measure::Count, None) => {}
    }
    for (field, value) in &ind.filter {
        let sub = format!(".where.{field}");
        match def.field(field) {
            None => p.add(
                "scheme.unknown_field",
                at.line(&sub),
                path(&sub),
                format!("台账类型“{}”没有字段“{field}”", def.name),
            ),
            Some(fd) => match &fd.kind {
                FieldKind::Choice { options, .. } | FieldKind::MultiChoice { options } => {
                    if !options.iter().any(|o| o == value) {
                        p.add(
                            "scheme.unknown_option",
                            at.line(&sub),
                            path(&sub),
                            format!(
                                "字段“{}”没有选项“{value}”（可选：{}）",
                                fd.label,
                                options.join("、")
                            ),
                        );
                    }
                }
                _ => p.add(
                    "scheme.field_not_choice",
                    at.line(&sub),
                    path(&sub),
                    format!("只能按选项字段筛选，“{}”不是选项字段", fd.label),
                ),
            },
        }
    }
}

fn check_rating(ind: &Indicator, at: &Place, p: &mut Problems) {
    let path = |sub: &str| format!("{}{sub}", at.path);
    if ind.raters.is_empty() || ind.raters.len() > 4 {
        p.add(
            "scheme.missing",
            at.line(".raters"),
            path(".raters"),
            "评分指标应列出1至4类评分人（self、peer、leader、inspector）及权重".into(),
        );
    }
    let mut seen = HashSet::new();
    let mut sum = Score::ZERO;
    for r in &ind.raters {
        if !seen.insert(r.relation) {
            p.add(
                "scheme.duplicate_key",
                at.line(".raters"),
                path(".raters"),
                "同一类评分人只能列一次".into(),
            );
        }
        if r.weight <= Score::ZERO {
            p.add(
                "scheme.weight",
                at.line(".raters"),
                path(".raters"),
                "权重应大于0".into(),
            );
        }
        sum = sum.checked_add(r.weight).unwrap_or(sum);
    }
    match ind.weights_total {
        None => p.add(
            "scheme.missing",
            at.line(".weights_total"),
            path(".weights_total"),
            "请写明权重合计（weights_total，如 100）".into(),
        ),
        Some(t) if t != sum && !ind.raters.is_empty() => p.add(
            "scheme.weights",
            at.line(".raters"),
            path(".raters"),
            format!("各评分人权重合计为{sum}，与声明的合计{t}不符"),
        ),
        _ => {}
    }
    match ind.range {
        None => p.add(
            "scheme.missing",
            at.line(".range"),
            path(".range"),
            "请写明单项评分范围（range，如 [0, 100]）".into(),
        ),
        Some([lo, hi]) if lo >= hi => p.add(
            "scheme.range",
            at.line(".range"),
            path(".range"),
            format!("评分范围下限{lo}应小于上限{hi}"),
        ),
        _ => {}
    }
}

fn check_items(
    items: &[super::scheme::Item],
    field: &str,
    what: &str,
    at: &Place,
    p: &mut Problems,
    positive_points: bool,
) {
    let path = format!("{}.{field}", at.path);
    if field == "items" && items.is_empty() {
        p.add(
            "scheme.missing",
            at.line(field),
            path.clone(),
            format!("请列出{what}"),
        );
    }
    if items.len() > MAX_ITEMS {
        p.add(
            "scheme.items",
            at.line(field),
            path.clone(),
            format!("{what}不超过{MAX_ITEMS}项"),
        );
    }
    for (n, it) in items.iter().enumerate() {
        let t = it.text.trim().chars().count();
        if !is_key(&it.key) || t == 0 || t > 200 {
            p.add(
                "scheme.item",
                at.line(field),
                format!("{path}[{}]", n + 1),
                format!("{what}应有键名（小写字母开头）和1至200个字的内容"),
            );
        }
        if positive_points && it.points <= Score::ZERO {
            p.add(
                "scheme.item_points",
                at.line(field),
                format!("{path}[{}]", n + 1),
                format!("{what}的分值写正数（负向事项按此分值扣减）"),
            );
        }
    }
    if let Some(k) = distinct(items.iter().map(|i| i.key.as_str())) {
        p.add(
            "scheme.duplicate_key",
            at.line(field),
            path,
            format!("{what}键名“{k}”重复"),
        );
    }
}

fn parse_formula(
    text: &str,
    at: &Place,
    sub: &str,
    keys: &HashSet<&str>,
    p: &mut Problems,
) -> Option<Formula> {
    match Formula::parse(text) {
        Err(e) => {
            p.add(
                e.code,
                at.line(sub),
                format!("{}{sub}", at.path),
                format!("公式{e}"),
            );
            None
        }
        Ok(f) => {
            let unknown: Vec<&str> = f
                .names()
                .iter()
                .map(String::as_str)
                .filter(|n| !keys.contains(n))
                .collect();
            if unknown.is_empty() {
                Some(f)
            } else {
                p.add(
                    "formula.unknown_name",
                    at.line(sub),
                    format!("{}{sub}", at.path),
                    format!("公式引用了不存在的指标：{}", unknown.join("、")),
                );
                None
            }
        }
    }
}

fn bands(s: &super::scheme::Scale, path: &str, p: &mut Problems) -> Option<Bands> {
    match Bands::new(s.min, s.max, &s.bands) {
        Ok(b) => Some(b),
        Err(e) => {
            let at = if e.band > 0 {
                format!("{path}.band[{}]", e.band)
            } else {
                path.to_string()
            };
            p.add(e.code, None, at, e.message);
            None
        }
    }
}

/// A scheme read by this one must not read this one back, however far down.
fn check_scheme_cycles(
    spec: &SchemeSpec,
    ctx: &dyn SchemeContext,
    src: &Source<'_>,
    p: &mut Problems,
) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut stack: Vec<String> = reads(spec);
    while let Some(k) = stack.pop() {
        if k == spec.key {
            let n = spec
                .indicators
                .iter()
                .position(|i| i.kind == IndicatorKind::Scheme);
            p.add(
                "scheme.cycle",
                n.and_then(|n| src.line(n, ".scheme")),
                "indicator.scheme".into(),
                "引用的方案又（间接）引用了本方案，形成循环".into(),
            );
            return;
        }
        // Bounded by the number of schemes the county has: each is visited once.
        if seen.len() < 10_000 && seen.insert(k.clone()) {
            stack.extend(ctx.scheme_reads(&k).unwrap_or_default());
        }
    }
}

/// Non-formula indicators first, as written; then each formula after what it reads. A cycle
/// between formulas is refused.
fn compute_order(
    spec: &SchemeSpec,
    formulas: &HashMap<String, Formula>,
    src: &Source<'_>,
    p: &mut Problems,
) -> Vec<usize> {
    let index: HashMap<&str, usize> = spec
        .indicators
        .iter()
        .enumerate()
        .map(|(n, i)| (i.key.as_str(), n))
        .collect();
    let mut order: Vec<usize> = Vec::with_capacity(spec.indicators.len());
    let mut placed = vec![false; spec.indicators.len()];
    for (n, i) in spec.indicators.iter().enumerate() {
        if i.kind != IndicatorKind::Formula {
            order.push(n);
            placed[n] = true;
        }
    }
    // Repeated passes place every formula whose inputs are placed; at most one pass per
    // formula, and each pass reads each formula's names once.
    loop {
        let mut progress = false;
        for (n, i) in spec.indicators.iter().enumerate() {
            if placed[n] {
                continue;
            }
            let Some(f) = formulas.get(&i.key) else {
                placed[n] = true;
                continue;
            };
            if f.names()
                .iter()
                .all(|x| index.get(x.as_str()).is_some_and(|&j| placed[j] && j != n))
            {
                order.push(n);
                placed[n] = true;
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    if let Some(n) = placed.iter().position(|d| !d) {
        p.add(
            "scheme.cycle",
            src.line(n, ".formula"),
            format!("indicator[{}]（{}）.formula", n + 1, spec.indicators[n].key),
            "公式之间相互引用，形成循环".into(),
        );
    }
    order
}
