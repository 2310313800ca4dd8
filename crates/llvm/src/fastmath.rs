//! Numba's `fastmath=True`: every fast-math flag on every float instruction,
//! except the few that implement NaN/infinity tests (`nnan` would fold them away).

use inkwell::values::{FastMathFlags, FunctionValue, InstructionValue};

pub(crate) fn apply(f: FunctionValue, strict: &[InstructionValue]) {
    for bb in f.get_basic_block_iter() {
        for inst in bb.get_instructions() {
            if inst.can_use_fast_math_flags() && !strict.contains(&inst) {
                let _ = inst.set_fast_math_flags(FastMathFlags::all());
            }
        }
    }
}
