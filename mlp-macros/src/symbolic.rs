//! A small symbolic differentiator for activations written as expressions of `z`.
//!
//! Expressions live in a [`Graph`]: a hash-consed DAG, so that a subexpression written (or
//! derived) twice is one node and is computed once. Every constructor simplifies as it builds
//! (constant folding, `0`/`1` identities, `−(−x) = x`), so derivatives come out short.
//! [`Graph::derive`] applies the rules of differentiation node by node, reusing the forward
//! nodes where a rule allows (`(e^u)' = e^u u'`, `(tanh u)' = (1 − tanh² u) u'`).

mod display;
#[cfg(test)]
mod tests;

pub use display::Names;
use std::collections::HashMap;

/// A node's index in its [`Graph`].
pub type Id = usize;

/// An elementary function of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    /// `−u`.
    Neg,
    /// `e^u`.
    Exp,
    /// `ln u`.
    Ln,
    /// `√u`.
    Sqrt,
    /// `tanh u`.
    Tanh,
    /// `1 / (1 + e^(−u))`.
    Sigmoid,
    /// `sin u`.
    Sin,
    /// `cos u`.
    Cos,
    /// `|u|`.
    Abs,
    /// `sign u`: −1, 0 or 1 (the derivative of `|u|`, 0 at 0 as in PyTorch).
    Sign,
}

impl Func {
    /// The name in the expression language, as a user writes it (`exp(z)` or `z.exp()`).
    pub const fn name(self) -> &'static str {
        match self {
            Func::Neg => "neg",
            Func::Exp => "exp",
            Func::Ln => "ln",
            Func::Sqrt => "sqrt",
            Func::Tanh => "tanh",
            Func::Sigmoid => "sigmoid",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Abs => "abs",
            Func::Sign => "signum",
        }
    }

    /// Evaluates the function in `f64`.
    pub fn eval(self, u: f64) -> f64 {
        match self {
            Func::Neg => -u,
            Func::Exp => u.exp(),
            Func::Ln => u.ln(),
            Func::Sqrt => u.sqrt(),
            Func::Tanh => u.tanh(),
            Func::Sigmoid => {
                if u >= 0.0 {
                    1.0 / (1.0 + (-u).exp())
                } else {
                    u.exp() / (1.0 + u.exp())
                }
            }
            Func::Sin => u.sin(),
            Func::Cos => u.cos(),
            Func::Abs => u.abs(),
            Func::Sign => sign(u),
        }
    }
}

/// `sign u` with `sign 0 = 0` (and NaN for NaN).
pub fn sign(u: f64) -> f64 {
    if u > 0.0 {
        1.0
    } else if u < 0.0 {
        -1.0
    } else {
        u * 0.0
    }
}

/// One node of an expression graph. Children are [`Id`]s of earlier nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A constant, by its `f64` bits (so that nodes can be hashed).
    Const(u64),
    /// The activation's variable `z`.
    Var,
    /// The activation's output `h = σ(z)`, available to the derivative from the cache.
    Out,
    /// The `i`-th constant parameter of the activation, e.g. `a` in `leaky(z; a = 0.1)`.
    Param(usize),
    /// `a + b`.
    Add(Id, Id),
    /// `a − b`.
    Sub(Id, Id),
    /// `a · b`.
    Mul(Id, Id),
    /// `a / b`.
    Div(Id, Id),
    /// `a^n` for an integer `n`.
    Powi(Id, i32),
    /// `a^b` for an exponent `b` that does not depend on `z`.
    Powf(Id, Id),
    /// `max(a, b)`.
    Max(Id, Id),
    /// `min(a, b)`.
    Min(Id, Id),
    /// `if a > b { t } else { e }`: what the derivatives of `max` and `min` select.
    Select { a: Id, b: Id, t: Id, e: Id },
    /// An elementary function.
    Unary(Func, Id),
}

/// A hash-consed expression DAG.
///
/// A graph holds at most [`Graph::MAX_NODES`] nodes. Past that, constructors return an
/// existing node instead of a new one and [`Graph::overflowed`] turns true: the results are
/// then meaningless, and the caller reports an error instead of using them. This bounds the
/// time and memory of differentiating any expression (the product rule alone squares the
/// size of a long product).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<Node, Id>,
    overflowed: bool,
}

// The simplification rules read as algebra (`(Some(x), _) if x == 0.0 => b` is `0 + b = b`),
// so they stay guards rather than float patterns.
#[allow(clippy::redundant_guards)]
impl Graph {
    /// The most nodes a graph holds: an activation, its derivative and every intermediate
    /// form the simplifier builds, together.
    pub const MAX_NODES: usize = 4096;

    /// Whether a constructor needed more than [`Graph::MAX_NODES`] nodes.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The node at `id`.
    pub fn node(&self, id: Id) -> Node {
        self.nodes[id]
    }

    /// Adds `node`, or returns the existing node equal to it.
    fn intern(&mut self, node: Node) -> Id {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        if self.nodes.len() >= Self::MAX_NODES {
            // Any existing node keeps every `Id` valid; the caller sees `overflowed`.
            self.overflowed = true;
            return 0;
        }
        self.nodes.push(node);
        self.index.insert(node, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// The constant's value, if `id` is a constant.
    pub fn constant(&self, id: Id) -> Option<f64> {
        match self.nodes[id] {
            Node::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    /// The constant `value` (−0 is kept as +0, so that `x + 0` folds).
    pub fn num(&mut self, value: f64) -> Id {
        let value = if value == 0.0 { 0.0 } else { value };
        self.intern(Node::Const(value.to_bits()))
    }

    /// The variable `z`.
    pub fn var(&mut self) -> Id {
        self.intern(Node::Var)
    }

    /// The cached output `h`.
    pub fn out(&mut self) -> Id {
        self.intern(Node::Out)
    }

    /// The parameter `i`.
    pub fn param(&mut self, i: usize) -> Id {
        self.intern(Node::Param(i))
    }

    /// Whether `id` is the constant `value`.
    fn is(&self, id: Id, value: f64) -> bool {
        self.constant(id) == Some(value)
    }

    /// Splits `c · t` into `(c, t)`, `−t` into `(−1, t)`, and any other `t` into `(1, t)`.
    fn coefficient(&self, a: Id) -> (f64, Id) {
        match self.nodes[a] {
            Node::Mul(c, t) if self.constant(c).is_some() => (self.constant(c).unwrap_or(1.0), t),
            Node::Unary(Func::Neg, t) => (-1.0, t),
            _ => (1.0, a),
        }
    }

    /// `a + b`, simplified; like terms are collected (`z² + 2 z² = 3 z²`).
    pub fn add(&mut self, a: Id, b: Id) -> Id {
        match (self.constant(a), self.constant(b)) {
            (Some(x), Some(y)) => self.num(x + y),
            (Some(x), _) if x == 0.0 => b,
            (_, Some(y)) if y == 0.0 => a,
            _ => {
                let ((ca, ta), (cb, tb)) = (self.coefficient(a), self.coefficient(b));
                if ta == tb {
                    let c = self.num(ca + cb);
                    return self.mul(c, ta);
                }
                match self.nodes[b] {
                    Node::Unary(Func::Neg, nb) => self.sub(a, nb),
                    _ => self.intern(Node::Add(a.min(b), a.max(b))),
                }
            }
        }
    }

    /// `a − b`, simplified.
    pub fn sub(&mut self, a: Id, b: Id) -> Id {
        match (self.constant(a), self.constant(b)) {
            (Some(x), Some(y)) => self.num(x - y),
            (Some(x), _) if x == 0.0 => self.neg(b),
            (_, Some(y)) if y == 0.0 => a,
            _ if a == b => self.num(0.0),
            _ => {
                let ((ca, ta), (cb, tb)) = (self.coefficient(a), self.coefficient(b));
                if ta == tb {
                    let c = self.num(ca - cb);
                    return self.mul(c, ta);
                }
                match self.nodes[b] {
                    Node::Unary(Func::Neg, nb) => self.add(a, nb),
                    _ => self.intern(Node::Sub(a, b)),
                }
            }
        }
    }

    /// `a · b`, simplified: constants fold and move to the front (`z · (2 z) = 2 z²`), and
    /// powers of one base add up (`z · z² = z³`).
    pub fn mul(&mut self, a: Id, b: Id) -> Id {
        if self.constant(b).is_some() && self.constant(a).is_none() {
            return self.mul(b, a);
        }
        if let Some(c) = self.constant(a) {
            if let Node::Mul(c2, y) = self.nodes[b] {
                if let Some(c2) = self.constant(c2) {
                    let c = self.num(c * c2);
                    return self.mul(c, y);
                }
            }
        } else {
            for (x, y) in [(a, b), (b, a)] {
                if let Node::Mul(c, rest) = self.nodes[y] {
                    if self.constant(c).is_some() {
                        let inner = self.mul(x, rest);
                        return self.mul(c, inner);
                    }
                }
            }
            let (pa, pb) = (self.power(a), self.power(b));
            if pa.0 == pb.0 {
                // `x^m · x^n = x^(m+n)` when `m + n` is an `i32`; otherwise the product stays.
                if let Some(n) = pa.1.checked_add(pb.1) {
                    return self.powi(pa.0, n);
                }
            }
        }
        match (self.constant(a), self.constant(b)) {
            (Some(x), Some(y)) => self.num(x * y),
            (Some(x), _) | (_, Some(x)) if x == 0.0 => self.num(0.0),
            (Some(x), _) if x == 1.0 => b,
            (_, Some(y)) if y == 1.0 => a,
            (Some(x), _) if x == -1.0 => self.neg(b),
            (_, Some(y)) if y == -1.0 => self.neg(a),
            _ => match (self.nodes[a], self.nodes[b]) {
                // (1 / x) · y = y / x
                (Node::Div(one, x), _) if self.is(one, 1.0) => self.div(b, x),
                (_, Node::Div(one, x)) if self.is(one, 1.0) => self.div(a, x),
                // A constant factor stays first, where `coefficient` looks for it.
                _ if self.constant(a).is_some() => self.intern(Node::Mul(a, b)),
                _ => self.intern(Node::Mul(a.min(b), a.max(b))),
            },
        }
    }

    /// Splits `x^n` into `(x, n)` and any other `x` into `(x, 1)`.
    fn power(&self, a: Id) -> (Id, i32) {
        match self.nodes[a] {
            Node::Powi(x, n) => (x, n),
            _ => (a, 1),
        }
    }

    /// `a / b`, simplified.
    pub fn div(&mut self, a: Id, b: Id) -> Id {
        match (self.constant(a), self.constant(b)) {
            (Some(x), Some(y)) => self.num(x / y),
            (Some(x), _) if x == 0.0 => self.num(0.0),
            (_, Some(y)) if y == 1.0 => a,
            _ if a == b => self.num(1.0),
            _ => self.intern(Node::Div(a, b)),
        }
    }

    /// `−a`, simplified.
    pub fn neg(&mut self, a: Id) -> Id {
        match self.nodes[a] {
            Node::Const(bits) => self.num(-f64::from_bits(bits)),
            Node::Unary(Func::Neg, inner) => inner,
            Node::Sub(x, y) => self.sub(y, x),
            Node::Mul(c, x) if self.constant(c).is_some() => {
                let c = self.num(-self.constant(c).unwrap_or(1.0));
                self.mul(c, x)
            }
            _ => self.intern(Node::Unary(Func::Neg, a)),
        }
    }

    /// `a^n`, simplified.
    pub fn powi(&mut self, a: Id, n: i32) -> Id {
        match (self.constant(a), n) {
            (_, 0) => self.num(1.0),
            (_, 1) => a,
            (Some(x), _) => self.num(x.powi(n)),
            _ => self.intern(Node::Powi(a, n)),
        }
    }

    /// `a^b` with `b` free of `z`, simplified.
    pub fn powf(&mut self, a: Id, b: Id) -> Id {
        match (self.constant(a), self.constant(b)) {
            (Some(x), Some(y)) => self.num(x.powf(y)),
            (_, Some(y)) if y == 0.0 => self.num(1.0),
            (_, Some(y)) if y == 1.0 => a,
            (_, Some(y)) if y.fract() == 0.0 && y.abs() <= f64::from(i32::MAX) => {
                // An integral exponent: `powi` is exact and cheaper.
                #[allow(clippy::cast_possible_truncation)]
                self.powi(a, y as i32)
            }
            _ => self.intern(Node::Powf(a, b)),
        }
    }

    /// `max(a, b)`, simplified.
    pub fn max(&mut self, a: Id, b: Id) -> Id {
        match (self.constant(a), self.constant(b)) {
            (Some(x), Some(y)) => self.num(x.max(y)),
            _ if a == b => a,
            _ => self.intern(Node::Max(a, b)),
        }
    }

    /// `min(a, b)`, simplified.
    pub fn min(&mut self, a: Id, b: Id) -> Id {
        match (self.constant(a), self.constant(b)) {
            (Some(x), Some(y)) => self.num(x.min(y)),
            _ if a == b => a,
            _ => self.intern(Node::Min(a, b)),
        }
    }

    /// `if a > b { t } else { e }`, simplified.
    pub fn select(&mut self, a: Id, b: Id, t: Id, e: Id) -> Id {
        match (self.constant(a), self.constant(b)) {
            _ if t == e => t,
            (Some(x), Some(y)) => {
                if x > y {
                    t
                } else {
                    e
                }
            }
            _ => self.intern(Node::Select { a, b, t, e }),
        }
    }

    /// `f(a)`, simplified (constants are folded).
    pub fn unary(&mut self, f: Func, a: Id) -> Id {
        if f == Func::Neg {
            return self.neg(a);
        }
        match (f, self.constant(a), self.nodes[a]) {
            (_, Some(x), _) => self.num(f.eval(x)),
            (Func::Abs, _, Node::Unary(Func::Abs | Func::Exp | Func::Sqrt | Func::Sigmoid, _)) => a,
            (Func::Sign, _, Node::Unary(Func::Sign, _)) => a,
            _ => self.intern(Node::Unary(f, a)),
        }
    }

    /// `∂e/∂z`: the derivative of `e` with respect to the variable.
    ///
    /// Iterative: every node of `e` is derived once, children first (a child's `Id` is
    /// always smaller than its parent's), so no input can exhaust the stack.
    pub fn derive(&mut self, e: Id) -> Id {
        let mut memo: HashMap<Id, Id> = HashMap::new();
        for id in self.topological(e) {
            let d = |k: Id| memo[&k];
            let result = match self.nodes[id] {
                Node::Const(_) | Node::Param(_) | Node::Out => self.num(0.0),
                Node::Var => self.num(1.0),
                Node::Add(a, b) => self.add(d(a), d(b)),
                Node::Sub(a, b) => self.sub(d(a), d(b)),
                Node::Mul(a, b) => {
                    // (a b)' = a' b + a b'
                    let (l, r) = (self.mul(d(a), b), self.mul(a, d(b)));
                    self.add(l, r)
                }
                Node::Div(a, b) => {
                    // (a / b)' = (a' − (a / b) b') / b, reusing the quotient itself
                    let q_db = self.mul(id, d(b));
                    let num = self.sub(d(a), q_db);
                    self.div(num, b)
                }
                Node::Powi(a, n) => {
                    // (a^n)' = n a^(n−1) a', or n (a^n / a) a' when n − 1 is no `i32`
                    let n_f = self.num(f64::from(n));
                    let p = match n.checked_sub(1) {
                        Some(n1) => self.powi(a, n1),
                        None => self.div(id, a),
                    };
                    let np = self.mul(n_f, p);
                    self.mul(np, d(a))
                }
                Node::Powf(a, b) => {
                    // (a^b)' = b a^(b−1) a', b constant in z
                    let one = self.num(1.0);
                    let b1 = self.sub(b, one);
                    let p = self.powf(a, b1);
                    let bp = self.mul(b, p);
                    self.mul(bp, d(a))
                }
                Node::Max(a, b) => self.select(a, b, d(a), d(b)),
                Node::Min(a, b) => self.select(a, b, d(b), d(a)),
                Node::Select { a, b, t, e: other } => self.select(a, b, d(t), d(other)),
                Node::Unary(f, a) => {
                    let outer = self.outer_derivative(f, a, id);
                    self.mul(outer, d(a))
                }
            };
            memo.insert(id, result);
        }
        memo[&e]
    }

    /// `f'(a)` for `e = f(a)`, written with `e` where the rule allows.
    fn outer_derivative(&mut self, f: Func, a: Id, e: Id) -> Id {
        match f {
            Func::Neg => self.num(-1.0),
            Func::Exp => e,
            Func::Ln => {
                let one = self.num(1.0);
                self.div(one, a)
            }
            Func::Sqrt => {
                let half = self.num(0.5);
                self.div(half, e)
            }
            Func::Tanh => {
                let one = self.num(1.0);
                let sq = self.powi(e, 2);
                self.sub(one, sq)
            }
            Func::Sigmoid => {
                let one = self.num(1.0);
                let rest = self.sub(one, e);
                self.mul(e, rest)
            }
            Func::Sin => self.unary(Func::Cos, a),
            Func::Cos => {
                let s = self.unary(Func::Sin, a);
                self.neg(s)
            }
            Func::Abs => self.unary(Func::Sign, a),
            Func::Sign => self.num(0.0),
        }
    }

    /// Rebuilds `e` with every occurrence of node `from` replaced by `to`; iterative, as
    /// [`Graph::derive`].
    pub fn substitute(&mut self, e: Id, from: Id, to: Id) -> Id {
        let mut memo: HashMap<Id, Id> = HashMap::new();
        for id in self.topological(e) {
            let s = |k: Id| memo[&k];
            let result = if id == from {
                to
            } else {
                match self.nodes[id] {
                    Node::Const(_) | Node::Var | Node::Out | Node::Param(_) => id,
                    Node::Add(a, b) => self.add(s(a), s(b)),
                    Node::Sub(a, b) => self.sub(s(a), s(b)),
                    Node::Mul(a, b) => self.mul(s(a), s(b)),
                    Node::Div(a, b) => self.div(s(a), s(b)),
                    Node::Powi(a, n) => self.powi(s(a), n),
                    Node::Powf(a, b) => self.powf(s(a), s(b)),
                    Node::Max(a, b) => self.max(s(a), s(b)),
                    Node::Min(a, b) => self.min(s(a), s(b)),
                    Node::Select { a, b, t, e: other } => self.select(s(a), s(b), s(t), s(other)),
                    Node::Unary(f, a) => self.unary(f, s(a)),
                }
            };
            memo.insert(id, result);
        }
        memo[&e]
    }

    /// The children of a node, in order.
    pub fn children(&self, id: Id) -> Vec<Id> {
        match self.nodes[id] {
            Node::Const(_) | Node::Var | Node::Out | Node::Param(_) => vec![],
            Node::Powi(a, _) | Node::Unary(_, a) => vec![a],
            Node::Add(a, b)
            | Node::Sub(a, b)
            | Node::Mul(a, b)
            | Node::Div(a, b)
            | Node::Powf(a, b)
            | Node::Max(a, b)
            | Node::Min(a, b) => vec![a, b],
            Node::Select { a, b, t, e } => vec![a, b, t, e],
        }
    }

    /// Every node `e` depends on, children before parents, each once (an iterative
    /// depth-first search, so that deep expressions cannot exhaust the stack).
    pub fn topological(&self, e: Id) -> Vec<Id> {
        let mut seen = vec![false; self.nodes.len()];
        let mut order = Vec::new();
        // (node, whether its children have been pushed)
        let mut stack = vec![(e, false)];
        while let Some((id, expanded)) = stack.pop() {
            if expanded {
                order.push(id);
                continue;
            }
            if seen[id] {
                continue;
            }
            seen[id] = true;
            stack.push((id, true));
            for child in self.children(id).into_iter().rev() {
                if !seen[child] {
                    stack.push((child, false));
                }
            }
        }
        order
    }

    /// Whether `e` reads the node `leaf` (`Var` or `Out`).
    pub fn reads(&self, e: Id, leaf: Node) -> bool {
        self.topological(e)
            .into_iter()
            .any(|id| self.nodes[id] == leaf)
    }
}
