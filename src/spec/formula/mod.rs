//! Refund formulas: a tiny arithmetic language written in the specs and
//! evaluated exactly.
//!
//! A formula such as `paid_cash - used * paid_cash / term` is parsed once
//! when the specs load and evaluated over exact rationals (`i128`
//! numerator and denominator), so that no float ever touches money; the
//! single rounding to whole minor units happens at the end, in the mode the
//! spec's interpretation chose. Overflow and division by zero are errors,
//! never panics.

use std::collections::BTreeMap;
use std::fmt;

/// The quantities a formula may refer to, supplied by the ledger.
///
/// Money is in minor units; durations are in whole seconds (only their
/// ratios matter in the documents' formulas).
pub const VARIABLES: [&str; 4] = ["paid_cash", "paid_voucher", "used", "term"];

/// Values for [`VARIABLES`], in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    pub paid_cash: i64,
    pub paid_voucher: i64,
    pub used_seconds: i64,
    pub term_seconds: i64,
}

impl Inputs {
    fn get(&self, index: usize) -> i64 {
        match index {
            0 => self.paid_cash,
            1 => self.paid_voucher,
            2 => self.used_seconds,
            _ => self.term_seconds,
        }
    }
}

/// How an exact result becomes whole minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    Floor,
    Ceil,
    HalfUp,
    HalfEven,
}

impl Rounding {
    pub const NAMES: [&'static str; 4] = ["floor", "ceil", "half-up", "half-even"];

    pub fn from_name(name: &str) -> Option<Rounding> {
        match name {
            "floor" => Some(Rounding::Floor),
            "ceil" => Some(Rounding::Ceil),
            "half-up" => Some(Rounding::HalfUp),
            "half-even" => Some(Rounding::HalfEven),
            _ => None,
        }
    }
}

/// A parsed formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Number(i64),
    Variable(usize),
    Binary(Box<Expr>, Op, Box<Expr>),
    Negate(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A formula text that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {offset})")]
pub struct ParseError {
    /// 0-based character offset into the formula text.
    pub offset: usize,
    pub message: String,
}

/// A formula that cannot be evaluated on these inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("division by zero")]
    DivisionByZero,
    #[error("arithmetic overflow")]
    Overflow,
}

/// Nesting deeper than this is refused, so hostile input cannot exhaust the
/// stack of the recursive-descent parser.
const MAX_DEPTH: usize = 32;

/// More tokens than this are refused: a chain such as `1 + 1 + ...` makes a
/// tree as deep as it is long, which evaluating (and dropping) walks
/// recursively. The documents' formulas have a dozen.
const MAX_TOKENS: usize = 500;

/// Parses a formula.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(text)?;
    if let Some((offset, _)) = tokens.get(MAX_TOKENS) {
        return Err(ParseError {
            offset: *offset,
            message: format!("formula longer than {MAX_TOKENS} numbers, names and operators"),
        });
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = parser.expr()?;
    match parser.tokens.get(parser.pos) {
        None => Ok(expr),
        Some((offset, tok)) => Err(ParseError {
            offset: *offset,
            message: format!("unexpected {tok}"),
        }),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Number(i64),
    Ident(String),
    Sym(char),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Number(n) => write!(f, "number `{n}`"),
            Token::Ident(name) => write!(f, "name `{name}`"),
            Token::Sym(c) => write!(f, "`{c}`"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            let n = digits.parse().map_err(|_| ParseError {
                offset: start,
                message: "number too large".into(),
            })?;
            out.push((start, Token::Number(n)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((start, Token::Ident(chars[start..i].iter().collect())));
        } else if "+-*/()".contains(c) {
            out.push((i, Token::Sym(c)));
            i += 1;
        } else {
            return Err(ParseError {
                offset: i,
                message: format!("unexpected character `{c}`"),
            });
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek_sym(&self) -> Option<char> {
        match self.tokens.get(self.pos) {
            Some((_, Token::Sym(c))) => Some(*c),
            _ => None,
        }
    }

    fn end_offset(&self) -> usize {
        self.tokens
            .last()
            .map(|(offset, tok)| offset + tok.to_string().len())
            .unwrap_or(0)
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.term()?;
        while let Some(c @ ('+' | '-')) = self.peek_sym() {
            self.pos += 1;
            let rhs = self.term()?;
            let op = if c == '+' { Op::Add } else { Op::Sub };
            lhs = Expr::Binary(Box::new(lhs), op, Box::new(rhs));
        }
        Ok(lhs)
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.factor()?;
        while let Some(c @ ('*' | '/')) = self.peek_sym() {
            self.pos += 1;
            let rhs = self.factor()?;
            let op = if c == '*' { Op::Mul } else { Op::Div };
            lhs = Expr::Binary(Box::new(lhs), op, Box::new(rhs));
        }
        Ok(lhs)
    }

    fn factor(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let offset = self.tokens.get(self.pos).map(|t| t.0).unwrap_or(0);
            return Err(ParseError {
                offset,
                message: format!("formula nested deeper than {MAX_DEPTH} levels"),
            });
        }
        let result = self.factor_inner();
        self.depth -= 1;
        result
    }

    fn factor_inner(&mut self) -> Result<Expr, ParseError> {
        let Some((offset, tok)) = self.tokens.get(self.pos).cloned() else {
            return Err(ParseError {
                offset: self.end_offset(),
                message: "formula ends where a number, a name or `(` was expected".into(),
            });
        };
        self.pos += 1;
        match tok {
            Token::Number(n) => Ok(Expr::Number(n)),
            Token::Ident(name) => match VARIABLES.iter().position(|v| *v == name) {
                Some(index) => Ok(Expr::Variable(index)),
                None => Err(ParseError {
                    offset,
                    message: format!(
                        "unknown name `{name}`; a formula may use {}",
                        VARIABLES.join(", ")
                    ),
                }),
            },
            Token::Sym('-') => Ok(Expr::Negate(Box::new(self.factor()?))),
            Token::Sym('(') => {
                let inner = self.expr()?;
                if self.peek_sym() == Some(')') {
                    self.pos += 1;
                    Ok(inner)
                } else {
                    Err(ParseError {
                        offset: self
                            .tokens
                            .get(self.pos)
                            .map(|t| t.0)
                            .unwrap_or(self.end_offset()),
                        message: "missing `)`".into(),
                    })
                }
            }
            other => Err(ParseError {
                offset,
                message: format!("unexpected {other}"),
            }),
        }
    }
}

/// An exact rational with a positive denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

impl Ratio {
    fn new(num: i128, den: i128) -> Result<Ratio, EvalError> {
        if den == 0 {
            return Err(EvalError::DivisionByZero);
        }
        let sign = if den < 0 { -1 } else { 1 };
        let g = gcd(num, den).max(1);
        Ok(Ratio {
            num: sign * num / g,
            den: sign * den / g,
        })
    }

    fn integer(n: i64) -> Ratio {
        Ratio {
            num: n as i128,
            den: 1,
        }
    }

    fn apply(self, op: Op, rhs: Ratio) -> Result<Ratio, EvalError> {
        let (a, b, c, d) = (self.num, self.den, rhs.num, rhs.den);
        let mul = |x: i128, y: i128| x.checked_mul(y).ok_or(EvalError::Overflow);
        match op {
            Op::Add => Ratio::new(
                mul(a, d)?
                    .checked_add(mul(c, b)?)
                    .ok_or(EvalError::Overflow)?,
                mul(b, d)?,
            ),
            Op::Sub => Ratio::new(
                mul(a, d)?
                    .checked_sub(mul(c, b)?)
                    .ok_or(EvalError::Overflow)?,
                mul(b, d)?,
            ),
            Op::Mul => Ratio::new(mul(a, c)?, mul(b, d)?),
            Op::Div => Ratio::new(mul(a, d)?, mul(b, c)?),
        }
    }

    /// Rounds to an integer in the given mode.
    pub fn round(self, mode: Rounding) -> Result<i64, EvalError> {
        let floor = self.num.div_euclid(self.den);
        let rem = self.num.rem_euclid(self.den); // 0 <= rem < den
        let rounded = match mode {
            Rounding::Floor => floor,
            Rounding::Ceil => floor + i128::from(rem != 0),
            Rounding::HalfUp => floor + i128::from(2 * rem >= self.den),
            Rounding::HalfEven => {
                let twice = 2 * rem;
                if twice > self.den || (twice == self.den && floor % 2 != 0) {
                    floor + 1
                } else {
                    floor
                }
            }
        };
        i64::try_from(rounded).map_err(|_| EvalError::Overflow)
    }
}

impl Expr {
    /// Evaluates exactly.
    pub fn eval(&self, inputs: &Inputs) -> Result<Ratio, EvalError> {
        match self {
            Expr::Number(n) => Ok(Ratio::integer(*n)),
            Expr::Variable(index) => Ok(Ratio::integer(inputs.get(*index))),
            Expr::Negate(inner) => {
                let r = inner.eval(inputs)?;
                Ratio::new(r.num.checked_neg().ok_or(EvalError::Overflow)?, r.den)
            }
            Expr::Binary(lhs, op, rhs) => lhs.eval(inputs)?.apply(*op, rhs.eval(inputs)?),
        }
    }

    /// Evaluates and rounds to whole minor units.
    pub fn eval_rounded(&self, inputs: &Inputs, mode: Rounding) -> Result<i64, EvalError> {
        self.eval(inputs)?.round(mode)
    }

    /// The divisors of this formula that are zero whatever the inputs, such
    /// as `0`, `term - term` or `2 * used - used - used`: each divisor is
    /// brought to a normal form (a ratio of polynomials over [`VARIABLES`]
    /// with exact rational coefficients) and is zero if its numerator is the
    /// zero polynomial. A divisor too large to normalise is not reported.
    pub fn zero_divisors(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.collect_zero_divisors(&mut out);
        out
    }

    fn collect_zero_divisors<'e>(&'e self, out: &mut Vec<&'e Expr>) {
        match self {
            Expr::Number(_) | Expr::Variable(_) => {}
            Expr::Negate(inner) => inner.collect_zero_divisors(out),
            Expr::Binary(lhs, op, rhs) => {
                lhs.collect_zero_divisors(out);
                rhs.collect_zero_divisors(out);
                if *op == Op::Div && rhs.normal_form().is_some_and(|(num, _)| num.is_zero()) {
                    out.push(rhs);
                }
            }
        }
    }

    /// This expression as numerator and denominator polynomials, if it can
    /// be normalised within the size bounds (and divides by nothing that
    /// is itself always zero).
    fn normal_form(&self) -> Option<(Poly, Poly)> {
        match self {
            Expr::Number(n) => Some((Poly::constant(Ratio::integer(*n)), Poly::one())),
            Expr::Variable(v) => Some((Poly::variable(*v), Poly::one())),
            Expr::Negate(inner) => {
                let (n, d) = inner.normal_form()?;
                Some((n.scale(Ratio::integer(-1))?, d))
            }
            Expr::Binary(lhs, op, rhs) => {
                let (a, b) = lhs.normal_form()?;
                let (c, d) = rhs.normal_form()?;
                let (num, den) = match op {
                    Op::Add => (a.mul(&d)?.add(&c.mul(&b)?)?, b.mul(&d)?),
                    Op::Sub => (
                        a.mul(&d)?.add(&c.mul(&b)?.scale(Ratio::integer(-1))?)?,
                        b.mul(&d)?,
                    ),
                    Op::Mul => (a.mul(&c)?, b.mul(&d)?),
                    Op::Div if c.is_zero() => return None,
                    Op::Div => (a.mul(&d)?, b.mul(&c)?),
                };
                // A zero numerator is zero whatever the denominator; a
                // constant denominator folds into the numerator.
                if num.is_zero() {
                    return Some((num, Poly::one()));
                }
                match den.as_constant() {
                    Some(k) => Some((
                        num.scale(Ratio::integer(1).apply(Op::Div, k).ok()?)?,
                        Poly::one(),
                    )),
                    None => Some((num, den)),
                }
            }
        }
    }

    /// The variables this formula reads, as indexes into [`VARIABLES`].
    pub fn variables(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.collect_variables(&mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    fn collect_variables(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Number(_) => {}
            Expr::Variable(index) => out.push(*index),
            Expr::Negate(inner) => inner.collect_variables(out),
            Expr::Binary(lhs, _, rhs) => {
                lhs.collect_variables(out);
                rhs.collect_variables(out);
            }
        }
    }
}

/// A polynomial over [`VARIABLES`]: exponents of each variable to a nonzero
/// exact coefficient. Bounded in terms and degree, so that normalising a
/// hostile formula stays cheap: an operation that would exceed the bounds
/// (or overflow a coefficient) gives `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Poly(BTreeMap<[u8; 4], Ratio>);

const MAX_TERMS: usize = 64;
const MAX_DEGREE: u8 = 16;

impl Poly {
    fn constant(k: Ratio) -> Poly {
        let mut terms = BTreeMap::new();
        if k.num != 0 {
            terms.insert([0; 4], k);
        }
        Poly(terms)
    }

    fn one() -> Poly {
        Poly::constant(Ratio::integer(1))
    }

    fn variable(v: usize) -> Poly {
        let mut exponents = [0; 4];
        exponents[v.min(3)] = 1;
        Poly(BTreeMap::from([(exponents, Ratio::integer(1))]))
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn as_constant(&self) -> Option<Ratio> {
        match self.0.len() {
            1 => self.0.get(&[0; 4]).copied(),
            _ => None,
        }
    }

    fn scale(&self, k: Ratio) -> Option<Poly> {
        let mut out = BTreeMap::new();
        for (e, c) in &self.0 {
            let c = c.apply(Op::Mul, k).ok()?;
            if c.num != 0 {
                out.insert(*e, c);
            }
        }
        Some(Poly(out))
    }

    fn add(&self, other: &Poly) -> Option<Poly> {
        let mut out = self.0.clone();
        for (e, c) in &other.0 {
            let sum = match out.get(e) {
                Some(old) => old.apply(Op::Add, *c).ok()?,
                None => *c,
            };
            if sum.num == 0 {
                out.remove(e);
            } else {
                out.insert(*e, sum);
            }
        }
        (out.len() <= MAX_TERMS).then_some(Poly(out))
    }

    fn mul(&self, other: &Poly) -> Option<Poly> {
        let mut out = Poly(BTreeMap::new());
        for (e1, c1) in &self.0 {
            for (e2, c2) in &other.0 {
                let mut e = [0u8; 4];
                for i in 0..4 {
                    e[i] = e1[i].checked_add(e2[i]).filter(|d| *d <= MAX_DEGREE)?;
                }
                let term = Poly(BTreeMap::from([(e, c1.apply(Op::Mul, *c2).ok()?)]));
                out = out.add(&term)?;
            }
        }
        Some(out)
    }
}

impl fmt::Display for Expr {
    /// The formula with as few parentheses as its meaning needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn precedence(e: &Expr) -> u8 {
            match e {
                Expr::Binary(_, Op::Add | Op::Sub, _) => 1,
                Expr::Binary(_, Op::Mul | Op::Div, _) => 2,
                Expr::Negate(_) => 3,
                Expr::Number(_) | Expr::Variable(_) => 4,
            }
        }
        fn wrapped(f: &mut fmt::Formatter<'_>, e: &Expr, parens: bool) -> fmt::Result {
            if parens {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        }
        match self {
            Expr::Number(n) => write!(f, "{n}"),
            Expr::Variable(v) => f.write_str(VARIABLES.get(*v).copied().unwrap_or("?")),
            Expr::Negate(inner) => {
                f.write_str("-")?;
                wrapped(f, inner, precedence(inner) < 3)
            }
            Expr::Binary(lhs, op, rhs) => {
                let p = precedence(self);
                wrapped(f, lhs, precedence(lhs) < p)?;
                let symbol = match op {
                    Op::Add => "+",
                    Op::Sub => "-",
                    Op::Mul => "*",
                    Op::Div => "/",
                };
                write!(f, " {symbol} ")?;
                // Left-associative: a right operand of the same precedence
                // keeps its parentheses (a - (b - c), a / (b * c)).
                wrapped(f, rhs, precedence(rhs) <= p)
            }
        }
    }
}

#[cfg(test)]
mod tests;
