//! Expressions written out as formulas for the generated docs.

use super::{Func, Graph, Id, Node};

/// The most nodes a formula in the docs is written out with.
pub const MAX_DISPLAY: usize = 2000;

impl Graph {
    /// The expression as a formula for the docs, e.g. `z / (1 + abs(z))`, with the
    /// variable, the output `h` and the parameters written as `names` says.
    ///
    /// A formula is written as a tree, so a subexpression shared in the graph is written
    /// each time it occurs; past [`MAX_DISPLAY`] nodes of that tree (a long product's
    /// derivative has quadratically many) it is summarised instead of written.
    pub fn display(&self, e: Id, names: &Names) -> String {
        let size = self.tree_size(e);
        if size > MAX_DISPLAY {
            return format!("(a formula of more than {MAX_DISPLAY} terms, not written out)");
        }
        let mut s = String::new();
        self.write(e, names, 0, &mut s);
        s
    }

    /// The number of nodes of `e` written out as a tree (saturating).
    fn tree_size(&self, e: Id) -> usize {
        let mut sizes: std::collections::HashMap<Id, usize> = std::collections::HashMap::new();
        for id in self.topological(e) {
            let size = self
                .children(id)
                .iter()
                .fold(1usize, |acc, c| acc.saturating_add(sizes[c]));
            sizes.insert(id, size);
        }
        sizes[&e]
    }

    /// Writes `e` at the given binding strength: 0 sum, 1 product, 2 unary minus, 3 atom.
    fn write(&self, e: Id, names: &Names, strength: u8, s: &mut String) {
        let (own, text) = match self.nodes[e] {
            Node::Const(bits) => {
                let x = f64::from_bits(bits);
                (if x < 0.0 { 2 } else { 3 }, number(x))
            }
            Node::Var => (3, names.var.clone()),
            Node::Out => (3, names.out.clone()),
            Node::Param(i) => (3, names.params[i].clone()),
            Node::Add(a, b) | Node::Sub(a, b) => {
                let mut t = String::new();
                self.write(a, names, 0, &mut t);
                t += if matches!(self.nodes[e], Node::Add(..)) {
                    " + "
                } else {
                    " − "
                };
                self.write(b, names, 1, &mut t);
                (0, t)
            }
            Node::Mul(a, b) | Node::Div(a, b) => {
                let mut t = String::new();
                self.write(a, names, 1, &mut t);
                t += if matches!(self.nodes[e], Node::Mul(..)) {
                    " · "
                } else {
                    " / "
                };
                self.write(b, names, 2, &mut t);
                (1, t)
            }
            Node::Powi(a, n) => {
                let mut t = String::new();
                self.write(a, names, 3, &mut t);
                t += &superscript(n);
                (3, t)
            }
            Node::Powf(a, b) => {
                let mut t = String::new();
                self.write(a, names, 3, &mut t);
                t += "^";
                self.write(b, names, 3, &mut t);
                (3, t)
            }
            Node::Max(a, b) | Node::Min(a, b) => {
                let name = if matches!(self.nodes[e], Node::Max(..)) {
                    "max"
                } else {
                    "min"
                };
                let mut t = format!("{name}(");
                self.write(a, names, 0, &mut t);
                t += ", ";
                self.write(b, names, 0, &mut t);
                t += ")";
                (3, t)
            }
            Node::Select {
                a,
                b,
                t: then,
                e: other,
            } => {
                // A case analysis, as mathematics writes it on one line.
                let mut t = String::from("{");
                self.write(then, names, 0, &mut t);
                t += " if ";
                self.write(a, names, 0, &mut t);
                t += " > ";
                self.write(b, names, 0, &mut t);
                t += "; ";
                self.write(other, names, 0, &mut t);
                t += " otherwise}";
                (3, t)
            }
            Node::Unary(Func::Neg, a) => {
                let mut t = String::from("−");
                self.write(a, names, 2, &mut t);
                (2, t)
            }
            Node::Unary(f, a) => {
                let mut t = format!("{}(", f.name());
                self.write(a, names, 0, &mut t);
                t += ")";
                (3, t)
            }
        };
        if own < strength {
            s.push('(');
            s.push_str(&text);
            s.push(')');
        } else {
            s.push_str(&text);
        }
    }
}

/// How [`Graph::display`] writes the leaves.
pub struct Names {
    /// The variable, e.g. `z` or `z_2`.
    pub var: String,
    /// The output, e.g. `h` or `h_2`.
    pub out: String,
    /// The parameters, in order.
    pub params: Vec<String>,
}

/// A constant as the docs show it: `2`, `0.5`, `-0.044715`, or six significant digits and
/// an ellipsis when it has more (`0.797885…`).
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let short = format!("{x:.6e}").parse::<f64>().unwrap_or(x);
    let text = format!("{short:?}");
    if short == x {
        text
    } else {
        // Six significant digits, without the exponent for ordinary magnitudes.
        let digits = 5 - x.abs().log10().floor() as i32;
        match usize::try_from(digits) {
            Ok(d) if d < 12 => format!("{x:.d$}…"),
            _ => format!("{x:.5e}…"),
        }
    }
}

/// `n` as a superscript: `²`, `⁻³`.
fn superscript(n: i32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::new();
    if n < 0 {
        s.push('⁻');
    }
    for c in n.unsigned_abs().to_string().chars() {
        s.push(DIGITS[c.to_digit(10).unwrap_or(0) as usize]);
    }
    s
}
