//! Reads the type strings the Python package writes (`str()` of its type
//! objects): `float64`, `none`, `array(float64, 2d, C)`, `Tuple(int64, float64)`.

use hypersonic_ir::{Layout, Scalar, Space, Type};

pub fn parse_type(text: &str) -> Result<Type, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let t = p.ty()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the type in {text:?}"));
    }
    Ok(t)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn word(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at position {}", c as char, self.i))
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn ty(&mut self) -> Result<Type, String> {
        let w = self.word();
        match w.as_str() {
            "none" => Ok(Type::None),
            "array" => {
                self.eat(b'(')?;
                let dtype = Scalar::from_name(&self.word()).ok_or("unknown dtype")?;
                self.eat(b',')?;
                let nd = self.word();
                let ndim: u8 = nd
                    .trim_end_matches('d')
                    .parse()
                    .map_err(|_| format!("bad number of dimensions {nd:?}"))?;
                self.eat(b',')?;
                let layout = match self.word().as_str() {
                    "C" => Layout::C,
                    "F" => Layout::F,
                    "A" => Layout::A,
                    l => return Err(format!("unknown layout {l:?}")),
                };
                let space = if self.peek() == Some(b',') {
                    self.i += 1;
                    match self.word().as_str() {
                        "global" => Space::Global,
                        "shared" => Space::Shared,
                        "local" => Space::Local,
                        "constant" => Space::Constant,
                        s => return Err(format!("unknown memory space {s:?}")),
                    }
                } else {
                    Space::Global
                };
                self.eat(b')')?;
                Ok(Type::Array {
                    dtype,
                    ndim,
                    layout,
                    space,
                })
            }
            "Tuple" => {
                self.eat(b'(')?;
                let mut items = Vec::new();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Ok(Type::Tuple(items));
                }
                loop {
                    items.push(self.ty()?);
                    if self.peek() == Some(b',') {
                        self.i += 1;
                        continue;
                    }
                    self.eat(b')')?;
                    return Ok(Type::Tuple(items));
                }
            }
            name => Scalar::from_name(name)
                .map(Type::Scalar)
                .ok_or_else(|| format!("unknown type {name:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_display() {
        for t in [
            Type::F64,
            Type::None,
            Type::array(Scalar::I32, 3, Layout::F),
            Type::Array {
                dtype: Scalar::U8,
                ndim: 1,
                layout: Layout::C,
                space: Space::Shared,
            },
            Type::Tuple(vec![Type::I64, Type::Tuple(vec![]), Type::BOOL]),
        ] {
            let text = match &t {
                Type::Tuple(items) => format!(
                    "Tuple({})",
                    items
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                t => t.to_string(),
            };
            assert_eq!(
                parse_type(&text.replace("UniTuple(", "Tuple(")),
                Ok(t.clone()),
                "{text}"
            );
        }
    }
}
