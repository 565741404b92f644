//! The small formula language of schemes, for totals, weights and thresholds: numbers, the
//! names of a scheme's indicators, `+ − × ÷` (also `* /`, and full-width brackets and commas as
//! a Chinese keyboard types them), comparisons (`< <= > >= == !=`, `≤ ≥ ≠`) that give 1 or 0,
//! and the functions `min`, `max`, `if`, `and`, `or`, `not`, `abs`, `round`, `floor`, `ceil`.
//! Parsed here into a tree and evaluated over exact [`Score`]s; nothing is ever handed to an
//! interpreter. The text is bounded and so is the nesting, so no formula makes work grow faster
//! than its length.

use super::score::{Score, ScoreError};

/// The longest formula text, in characters.
pub const MAX_CHARS: usize = 1000;
/// The deepest nesting of brackets and calls.
pub const MAX_DEPTH: usize = 32;
/// The longest name an indicator may have.
pub const MAX_NAME: usize = 40;

/// Why a formula was refused: a stable code, the column (in characters, from 1) where the
/// problem starts, and a message for the admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("第{column}个字符处：{message}")]
pub struct FormulaError {
    pub code: &'static str,
    pub column: usize,
    pub message: String,
}

/// Why a parsed formula gave no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("公式引用了未定义的名称“{0}”")]
    Unknown(String),
    #[error("公式计算时{0}")]
    Arithmetic(#[from] ScoreError),
}

impl EvalError {
    pub fn code(&self) -> &'static str {
        match self {
            EvalError::Unknown(_) => "formula.unknown_name",
            EvalError::Arithmetic(ScoreError::DivisionByZero) => "formula.division_by_zero",
            EvalError::Arithmetic(_) => "formula.overflow",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Min,
    Max,
    If,
    And,
    Or,
    Not,
    Abs,
    Round,
    Floor,
    Ceil,
}

impl Func {
    fn named(name: &str) -> Option<Func> {
        Some(match name {
            "min" => Func::Min,
            "max" => Func::Max,
            "if" => Func::If,
            "and" => Func::And,
            "or" => Func::Or,
            "not" => Func::Not,
            "abs" => Func::Abs,
            "round" => Func::Round,
            "floor" => Func::Floor,
            "ceil" => Func::Ceil,
            _ => return None,
        })
    }

    /// How many arguments it takes: at least, at most.
    fn arity(self) -> (usize, usize) {
        match self {
            Func::Min | Func::Max | Func::And | Func::Or => (1, 64),
            Func::If => (3, 3),
            Func::Not | Func::Abs | Func::Floor | Func::Ceil => (1, 1),
            Func::Round => (1, 2),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(Score),
    Name(usize),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

/// A parsed formula: its text, its tree, and the names it reads (each once, in order of first
/// use), which a scheme checks against its indicators and uses to order them.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    text: String,
    root: Expr,
    names: Vec<String>,
}

impl Formula {
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        let chars = text.chars().count();
        if chars > MAX_CHARS {
            return Err(FormulaError {
                code: "formula.too_long",
                column: MAX_CHARS + 1,
                message: format!("公式不超过{MAX_CHARS}个字符（现有{chars}个）"),
            });
        }
        let tokens = lex(text)?;
        let mut p = Parser {
            tokens,
            at: 0,
            names: Vec::new(),
            end: chars + 1,
        };
        if p.tokens.is_empty() {
            return Err(FormulaError {
                code: "formula.empty",
                column: 1,
                message: "公式为空".into(),
            });
        }
        let root = p.expr(0)?;
        if let Some(t) = p.tokens.get(p.at) {
            return Err(unexpected(t));
        }
        Ok(Formula {
            text: text.to_string(),
            root,
            names: p.names,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The names the formula reads.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The value with each name looked up by `value_of`. `if`, `and` and `or` evaluate only
    /// what decides them, so `if(n == 0, 0, a / n)` never divides by zero.
    pub fn eval(&self, value_of: &dyn Fn(&str) -> Option<Score>) -> Result<Score, EvalError> {
        let mut values = Vec::with_capacity(self.names.len());
        for n in &self.names {
            values.push(value_of(n).ok_or_else(|| EvalError::Unknown(n.clone()))?);
        }
        eval(&self.root, &values)
    }
}

fn eval(e: &Expr, values: &[Score]) -> Result<Score, EvalError> {
    Ok(match e {
        Expr::Num(n) => *n,
        Expr::Name(i) => values[*i],
        Expr::Neg(a) => eval(a, values)?.checked_neg()?,
        Expr::Bin(op, a, b) => {
            let (x, y) = (eval(a, values)?, eval(b, values)?);
            match op {
                Op::Add => x.checked_add(y)?,
                Op::Sub => x.checked_sub(y)?,
                Op::Mul => x.checked_mul(y)?,
                Op::Div => x.checked_div(y)?,
                Op::Lt => Score::from_bool(x < y),
                Op::Le => Score::from_bool(x <= y),
                Op::Gt => Score::from_bool(x > y),
                Op::Ge => Score::from_bool(x >= y),
                Op::Eq => Score::from_bool(x == y),
                Op::Ne => Score::from_bool(x != y),
            }
        }
        Expr::Call(f, args) => match f {
            Func::If => {
                if eval(&args[0], values)?.truthy() {
                    eval(&args[1], values)?
                } else {
                    eval(&args[2], values)?
                }
            }
            Func::And => {
                for a in args {
                    if !eval(a, values)?.truthy() {
                        return Ok(Score::ZERO);
                    }
                }
                Score::ONE
            }
            Func::Or => {
                for a in args {
                    if eval(a, values)?.truthy() {
                        return Ok(Score::ONE);
                    }
                }
                Score::ZERO
            }
            Func::Min | Func::Max => {
                let mut best = eval(&args[0], values)?;
                for a in &args[1..] {
                    let v = eval(a, values)?;
                    best = if *f == Func::Min {
                        best.min(v)
                    } else {
                        best.max(v)
                    };
                }
                best
            }
            Func::Not => Score::from_bool(!eval(&args[0], values)?.truthy()),
            Func::Abs => eval(&args[0], values)?.abs()?,
            Func::Floor => eval(&args[0], values)?.floor(),
            Func::Ceil => eval(&args[0], values)?.ceil(),
            Func::Round => {
                let v = eval(&args[0], values)?;
                let places = match args.get(1) {
                    Some(p) => eval(p, values)?.floor().units() / super::score::SCALE,
                    None => 0,
                };
                v.round_to(places.clamp(0, 4) as u32)
            }
        },
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(Score),
    Ident(String),
    Op(Op),
    Open,
    Close,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    column: usize,
    text: String,
}

fn unexpected(t: &Token) -> FormulaError {
    FormulaError {
        code: "formula.unexpected",
        column: t.column,
        message: format!("此处不应出现“{}”", t.text),
    }
}

fn lex(text: &str) -> Result<Vec<Token>, FormulaError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            '+' | '＋' => Some(Tok::Op(Op::Add)),
            '-' | '−' | '－' => Some(Tok::Op(Op::Sub)),
            '*' | '×' => Some(Tok::Op(Op::Mul)),
            '/' | '÷' => Some(Tok::Op(Op::Div)),
            '(' | '（' => Some(Tok::Open),
            ')' | '）' => Some(Tok::Close),
            ',' | '，' => Some(Tok::Comma),
            '≤' => Some(Tok::Op(Op::Le)),
            '≥' => Some(Tok::Op(Op::Ge)),
            '≠' => Some(Tok::Op(Op::Ne)),
            _ => None,
        };
        if let Some(tok) = single {
            out.push(Token {
                tok,
                column,
                text: c.to_string(),
            });
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let pair = match (c, next) {
            ('<', Some('=')) => Some(Op::Le),
            ('>', Some('=')) => Some(Op::Ge),
            ('=', Some('=')) => Some(Op::Eq),
            ('!', Some('=')) => Some(Op::Ne),
            _ => None,
        };
        if let Some(op) = pair {
            out.push(Token {
                tok: Tok::Op(op),
                column,
                text: chars[i..i + 2].iter().collect(),
            });
            i += 2;
            continue;
        }
        if c == '<' || c == '>' {
            out.push(Token {
                tok: Tok::Op(if c == '<' { Op::Lt } else { Op::Gt }),
                column,
                text: c.to_string(),
            });
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let t: String = chars[start..i].iter().collect();
            let n = Score::parse(&t).map_err(|_| FormulaError {
                code: "formula.number",
                column,
                message: format!("数字“{t}”无法识别（最多四位小数）"),
            })?;
            out.push(Token {
                tok: Tok::Num(n),
                column,
                text: t,
            });
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let t: String = chars[start..i].iter().collect();
            if t.len() > MAX_NAME {
                return Err(FormulaError {
                    code: "formula.name_too_long",
                    column,
                    message: format!("名称不超过{MAX_NAME}个字符"),
                });
            }
            out.push(Token {
                tok: Tok::Ident(t.clone()),
                column,
                text: t,
            });
            continue;
        }
        return Err(FormulaError {
            code: "formula.character",
            column,
            message: format!("不能使用字符“{c}”（指标请用其英文键名）"),
        });
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    names: Vec<String>,
    /// The column just past the text, for "ended too soon".
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|t| &t.tok)
    }

    fn ended(&self) -> FormulaError {
        FormulaError {
            code: "formula.incomplete",
            column: self.end,
            message: "公式不完整".into(),
        }
    }

    fn too_deep(&self, depth: usize) -> Result<(), FormulaError> {
        if depth > MAX_DEPTH {
            let column = self.tokens.get(self.at).map_or(self.end, |t| t.column);
            return Err(FormulaError {
                code: "formula.too_deep",
                column,
                message: format!("括号和函数嵌套不超过{MAX_DEPTH}层"),
            });
        }
        Ok(())
    }

    /// comparison := sum (cmp sum)?
    fn expr(&mut self, depth: usize) -> Result<Expr, FormulaError> {
        self.too_deep(depth)?;
        let left = self.sum(depth)?;
        if let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne) {
                self.at += 1;
                let right = self.sum(depth)?;
                if let Some(Tok::Op(o)) = self.peek() {
                    if matches!(o, Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne) {
                        let t = &self.tokens[self.at];
                        return Err(FormulaError {
                            code: "formula.chained_comparison",
                            column: t.column,
                            message: "比较不能连写，请用 and(a < b, b < c)".into(),
                        });
                    }
                }
                return Ok(Expr::Bin(op, Box::new(left), Box::new(right)));
            }
        }
        Ok(left)
    }

    fn sum(&mut self, depth: usize) -> Result<Expr, FormulaError> {
        let mut left = self.product(depth)?;
        while let Some(Tok::Op(op @ (Op::Add | Op::Sub))) = self.peek() {
            let op = *op;
            self.at += 1;
            let right = self.product(depth)?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self, depth: usize) -> Result<Expr, FormulaError> {
        let mut left = self.unary(depth)?;
        while let Some(Tok::Op(op @ (Op::Mul | Op::Div))) = self.peek() {
            let op = *op;
            self.at += 1;
            let right = self.unary(depth)?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, FormulaError> {
        if let Some(Tok::Op(Op::Sub)) = self.peek() {
            self.at += 1;
            self.too_deep(depth + 1)?;
            return Ok(Expr::Neg(Box::new(self.unary(depth + 1)?)));
        }
        if let Some(Tok::Op(Op::Add)) = self.peek() {
            self.at += 1;
            self.too_deep(depth + 1)?;
            return self.unary(depth + 1);
        }
        self.atom(depth)
    }

    fn atom(&mut self, depth: usize) -> Result<Expr, FormulaError> {
        let Some(t) = self.tokens.get(self.at).cloned() else {
            return Err(self.ended());
        };
        self.at += 1;
        match t.tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Open => {
                let e = self.expr(depth + 1)?;
                self.close(&t)?;
                Ok(e)
            }
            Tok::Ident(name) => {
                if self.peek() == Some(&Tok::Open) {
                    let open = self.tokens[self.at].clone();
                    self.at += 1;
                    let Some(f) = Func::named(&name) else {
                        return Err(FormulaError {
                            code: "formula.unknown_function",
                            column: t.column,
                            message: format!(
                                "没有函数“{name}”（可用 min、max、if、and、or、not、abs、round、floor、ceil）"
                            ),
                        });
                    };
                    let mut args = Vec::new();
                    if self.peek() != Some(&Tok::Close) {
                        loop {
                            args.push(self.expr(depth + 1)?);
                            if self.peek() == Some(&Tok::Comma) {
                                self.at += 1;
                                continue;
                            }
                            break;
                        }
                    }
                    self.close(&open)?;
                    let (lo, hi) = f.arity();
                    if args.len() < lo || args.len() > hi {
                        let want = if lo == hi {
                            format!("{lo}个")
                        } else {
                            format!("{lo}至{hi}个")
                        };
                        return Err(FormulaError {
                            code: "formula.arity",
                            column: t.column,
                            message: format!("{name} 需要{want}参数，给了{}个", args.len()),
                        });
                    }
                    return Ok(Expr::Call(f, args));
                }
                if Func::named(&name).is_some() {
                    return Err(FormulaError {
                        code: "formula.call",
                        column: t.column,
                        message: format!("{name} 是函数，应写作 {name}(…)"),
                    });
                }
                let i = match self.names.iter().position(|n| *n == name) {
                    Some(i) => i,
                    None => {
                        self.names.push(name);
                        self.names.len() - 1
                    }
                };
                Ok(Expr::Name(i))
            }
            _ => Err(unexpected(&t)),
        }
    }

    fn close(&mut self, open: &Token) -> Result<(), FormulaError> {
        match self.tokens.get(self.at) {
            Some(Token {
                tok: Tok::Close, ..
            }) => {
                self.at += 1;
                Ok(())
            }
            Some(t) => Err(unexpected(t)),
            None => Err(FormulaError {
                code: "formula.unclosed",
                column: open.column,
                message: "括号没有闭合".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn s(t: &str) -> Score {
        Score::parse(t).expect(t)
    }

    fn value(text: &str, vars: &[(&str, &str)]) -> Result<Score, EvalError> {
        let f = Formula::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let map: HashMap<&str, Score> = vars.iter().map(|(k, v)| (*k, s(v))).collect();
        f.eval(&|n| map.get(n).copied())
    }

    fn refused(text: &str) -> (&'static str, usize) {
        let e = Formula::parse(text).expect_err(text);
        (e.code, e.column)
    }

    #[test]
    fn arithmetic_follows_the_usual_precedence() {
        assert_eq!(value("1 + 2 * 3", &[]).unwrap(), s("7"));
        assert_eq!(value("(1 + 2) * 3", &[]).unwrap(), s("9"));
        assert_eq!(value("10 - 4 - 3", &[]).unwrap(), s("3"));
        assert_eq!(value("12 ÷ 4 × 3", &[]).unwrap(), s("9"));
        assert_eq!(value("-2 * -3", &[]).unwrap(), s("6"));
        assert_eq!(value("（1＋2）×3", &[]).unwrap(), s("9"));
    }

    #[test]
    fn names_weights_and_functions() {
        let weights = "self * 0.2 + peer * 0.3 + leader * 0.5";
        assert_eq!(
            value(weights, &[("self", "90"), ("peer", "80"), ("leader", "85")]).unwrap(),
            s("84.5")
        );
        assert_eq!(value("min(a, 20)", &[("a", "27")]).unwrap(), s("20"));
        assert_eq!(value("max(a - 5, 0)", &[("a", "3")]).unwrap(), s("0"));
        assert_eq!(
            value(
                "if(n == 0, 0, done / n * 100)",
                &[("n", "0"), ("done", "0")]
            )
            .unwrap(),
            s("0")
        );
        assert_eq!(
            value("round(done / n * 100, 1)", &[("n", "7"), ("done", "2")]).unwrap(),
            s("28.6")
        );
        assert_eq!(
            value("and(a >= 60, b < 3)", &[("a", "60"), ("b", "2")]).unwrap(),
            s("1")
        );
        assert_eq!(
            value("or(a > 60, not(b))", &[("a", "60"), ("b", "0")]).unwrap(),
            s("1")
        );
        assert_eq!(
            value("floor(2.9) + ceil(0.1) + abs(-3)", &[]).unwrap(),
            s("6")
        );
        assert_eq!(value("a ≥ 60", &[("a", "59.9999")]).unwrap(), s("0"));
    }

    #[test]
    fn names_are_listed_once_in_order_of_first_use() {
        let f = Formula::parse("b + a * b + c").unwrap();
        assert_eq!(f.names(), ["b", "a", "c"]);
        assert_eq!(f.text(), "b + a * b + c");
    }

    #[test]
    fn evaluation_errors_are_named() {
        assert_eq!(
            value("a / b", &[("a", "1")]),
            Err(EvalError::Unknown("b".into()))
        );
        let e = value("a / b", &[("a", "1"), ("b", "0")]).unwrap_err();
        assert_eq!(e.code(), "formula.division_by_zero");
        let e = value("a * a * a", &[("a", "99999999")]).unwrap_err();
        assert_eq!(e.code(), "formula.overflow");
    }

    #[test]
    fn bad_formulas_are_refused_at_their_place() {
        assert_eq!(refused(""), ("formula.empty", 1));
        assert_eq!(refused("   "), ("formula.empty", 1));
        assert_eq!(refused("1 +"), ("formula.incomplete", 4));
        assert_eq!(refused("(1 + 2"), ("formula.unclosed", 1));
        assert_eq!(refused("1 + 2)"), ("formula.unexpected", 6));
        assert_eq!(refused("1 2"), ("formula.unexpected", 3));
        assert_eq!(refused("sum(a, b)"), ("formula.unknown_function", 1));
        assert_eq!(refused("if(a, b)"), ("formula.arity", 1));
        assert_eq!(refused("min()"), ("formula.arity", 1));
        assert_eq!(refused("a + max"), ("formula.call", 5));
        assert_eq!(refused("1 < a < 3"), ("formula.chained_comparison", 7));
        assert_eq!(refused("得分 + 1"), ("formula.character", 1));
        assert_eq!(refused("a = 1"), ("formula.character", 3));
        assert_eq!(refused("1.2.3"), ("formula.number", 1));
        assert_eq!(refused("0.00001"), ("formula.number", 1));
        let long = format!("a{}", "b".repeat(MAX_NAME));
        assert_eq!(refused(&long), ("formula.name_too_long", 1));
        let text = "1+".repeat(MAX_CHARS);
        assert_eq!(refused(&text).0, "formula.too_long");
        let deep = format!(
            "{}1{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(refused(&deep).0, "formula.too_deep");
        let negs = format!("{}1", "-".repeat(MAX_DEPTH + 1));
        assert_eq!(refused(&negs).0, "formula.too_deep");
        let fine = format!("{}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(Formula::parse(&fine).is_ok());
    }

    #[test]
    fn a_long_sum_of_indicators_is_fine() {
        let names: Vec<String> = (1..=38).map(|i| format!("i{i}")).collect();
        let text = names.join(" + ");
        let f = Formula::parse(&text).unwrap();
        assert_eq!(f.names().len(), 38);
        assert_eq!(f.eval(&|_| Some(s("2.5"))).unwrap(), s("95"));
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any text at all: parsed or refused with a column inside it, never a panic.
            #[test]
            fn any_text_is_parsed_or_refused(text in "[-+*/()（），,<>=!.0-9a-z ×÷≤≥≠一]{0,80}") {
                match Formula::parse(&text) {
                    Ok(f) => { let _ = f.eval(&|_| Some(Score::ONE)); }
                    Err(e) => prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1),
                }
            }
        }
    }
}
