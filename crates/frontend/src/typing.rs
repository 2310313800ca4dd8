//! Promotion and operator typing tables (NumPy's promotion as Numba applies it).

use hypersonic_ir::{Scalar, Type};

/// Bool takes part in arithmetic as int64.
fn arith_operand(s: Scalar) -> Scalar {
    if s == Scalar::Bool {
        Scalar::I64
    } else {
        s
    }
}

/// The type `a op b` computes in for `+ - * // % **`.
pub(crate) fn arith(a: Scalar, b: Scalar) -> Scalar {
    let (a, b) = (arith_operand(a), arith_operand(b));
    if a.is_complex() || b.is_complex() {
        let small = |s: Scalar| matches!(s, Scalar::F32 | Scalar::C64);
        return if small(a) && small(b) {
            Scalar::C64
        } else {
            Scalar::C128
        };
    }
    if a.is_float() || b.is_float() {
        return if a == Scalar::F32 && b == Scalar::F32 {
            Scalar::F32
        } else {
            Scalar::F64
        };
    }
    match (a.is_signed_int(), b.is_signed_int()) {
        (true, true) => Scalar::I64,
        (false, false) => Scalar::U64,
        // A signed and an unsigned integer: int64 holds both unless the unsigned one is 64-bit.
        _ => {
            if a.bits() == 64 && a.is_unsigned_int() || b.bits() == 64 && b.is_unsigned_int() {
                Scalar::F64
            } else {
                Scalar::I64
            }
        }
    }
}

/// The type of `a / b`.
pub(crate) fn true_div(a: Scalar, b: Scalar) -> Scalar {
    let t = arith(a, b);
    if t.is_int() {
        Scalar::F64
    } else {
        t
    }
}

/// The type of `a & b` and friends; `None` when they are not integers.
pub(crate) fn bitwise(a: Scalar, b: Scalar) -> Option<Scalar> {
    if a == Scalar::Bool && b == Scalar::Bool {
        return Some(Scalar::Bool);
    }
    let t = arith(a, b);
    if t.is_int() {
        Some(t)
    } else if (a.is_int() || a == Scalar::Bool) && (b.is_int() || b == Scalar::Bool) {
        // int64 with uint64: Numba computes in int64 for bit operations.
        Some(Scalar::I64)
    } else {
        None
    }
}

/// The type both operands of a comparison are converted to.
pub(crate) fn compare(a: Scalar, b: Scalar) -> Scalar {
    if a == b {
        a
    } else {
        arith(a, b)
    }
}

/// The type of a variable that holds values of type `a` and of type `b`.
pub(crate) fn unify(a: &Type, b: &Type) -> Option<Type> {
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (Type::Scalar(x), Type::Scalar(y)) => Some(Type::Scalar(arith(*x, *y))),
        (Type::Tuple(xs), Type::Tuple(ys)) if xs.len() == ys.len() => xs
            .iter()
            .zip(ys)
            .map(|(x, y)| unify(x, y))
            .collect::<Option<Vec<_>>>()
            .map(Type::Tuple),
        _ => None,
    }
}

/// A short description of a type for messages.
pub(crate) fn describe(t: &Type) -> String {
    match t {
        Type::Array { .. } => format!("an array `{t}`"),
        Type::Tuple(_) => format!("a tuple `{t}`"),
        Type::None => "None".into(),
        Type::Scalar(_) => format!("`{t}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotions() {
        use Scalar::*;
        assert_eq!(arith(I32, I32), I64);
        assert_eq!(arith(I64, F64), F64);
        assert_eq!(arith(I64, U64), F64);
        assert_eq!(arith(U8, U16), U64);
        assert_eq!(arith(Bool, Bool), I64);
        assert_eq!(arith(I64, F32), F64);
        assert_eq!(arith(F32, F32), F32);
        assert_eq!(arith(F32, C64), C64);
        assert_eq!(arith(I64, C64), C128);
        assert_eq!(true_div(I64, I64), F64);
        assert_eq!(true_div(F32, F32), F32);
        assert_eq!(bitwise(Bool, Bool), Some(Bool));
        assert_eq!(bitwise(F64, I64), None);
        assert_eq!(unify(&Type::I64, &Type::F64), Some(Type::F64));
        assert_eq!(
            unify(&Type::I64, &Type::Scalar(C128)),
            Some(Type::Scalar(C128))
        );
        let arr = Type::array(F64, 1, hypersonic_ir::Layout::C);
        assert_eq!(unify(&arr, &Type::I64), None);
    }
}
