//! Alias scopes of the block function's memory accesses.
//!
//! The block function's memory is of three kinds that never overlap: the
//! runtime's per-thread scratch buffer, its shared-memory buffer, and
//! everything else (kernel arguments' arrays, the block context, stack
//! slots). Every load, store and atomic whose address derives from exactly one
//! of them gets `!alias.scope` for its kind and `!noalias` for the other two,
//! so that LLVM keeps per-thread values in registers across stores to shared
//! or global arrays (and vice versa) instead of reloading them. An access whose
//! address LLVM could not trace back (a pointer loaded from memory, a call's
//! result) gets no metadata and stays conservative.

use std::collections::HashMap;

use inkwell::context::Context;
use inkwell::types::{AnyTypeEnum, BasicTypeEnum};
use inkwell::values::{
    AsValueRef, BasicValueEnum, FunctionValue, InstructionOpcode as Opc, InstructionValue, Operand,
};

/// Memory kinds as bits: everything else, shared memory, then each scratch
/// item (the items past the 61st share one bit), and "unknown".
const OTHER: u64 = 1;
const SHARED: u64 = 2;
const FIRST_ITEM: u32 = 2;
const LAST_ITEM: u32 = 62;
const UNKNOWN: u64 = 1 << 63;

fn key<V: AsValueRef>(v: &V) -> usize {
    v.as_value_ref() as usize
}

struct Resolver<'ctx> {
    /// Base pointers of the kinds: shared memory and each scratch item.
    roots: HashMap<usize, u64>,
    params: Vec<usize>,
    memo: HashMap<usize, u64>,
    /// Stack slots (Python locals) whose every use is a load, a store to it
    /// or an address computation on it: the values stored into each.
    slots: HashMap<usize, Vec<BasicValueEnum<'ctx>>>,
    /// Address computations on a tracked slot, and the slot.
    slot_of: HashMap<usize, usize>,
}

impl<'ctx> Resolver<'ctx> {
    /// The kinds of memory `v` (a pointer, or an aggregate holding pointers)
    /// may point into; 0 for a value that holds no pointer (undef, poison).
    fn kinds(&mut self, v: BasicValueEnum<'ctx>) -> u64 {
        let k = key(&v);
        if let Some(&m) = self.roots.get(&k) {
            return m;
        }
        if self.params.contains(&k) {
            // Kernel arguments (their arrays are the caller's buffers), the
            // status slot and the block context.
            return OTHER;
        }
        if let Some(&m) = self.memo.get(&k) {
            return m;
        }
        if !holds_pointer(v.get_type()) {
            return 0;
        }
        let Some(i) = instruction(v) else {
            return constant_kinds(v);
        };
        // A cycle through phis adds nothing to what its entries bring.
        self.memo.insert(k, 0);
        let m = match i.get_opcode() {
            Opc::Alloca => OTHER,
            // A value loaded from a stack slot: whatever was stored there.
            Opc::Load => match self.slot_operand(i) {
                Some(slot) => {
                    let stored = self.slots[&slot].clone();
                    stored.into_iter().fold(0, |m, v| m | self.kinds(v))
                }
                None => UNKNOWN,
            },
            Opc::GetElementPtr | Opc::ExtractValue | Opc::BitCast | Opc::AddrSpaceCast => {
                self.operand(i, 0)
            }
            Opc::InsertValue => self.operand(i, 0) | self.operand(i, 1),
            Opc::Select => self.operand(i, 1) | self.operand(i, 2),
            Opc::Phi => {
                let mut m = 0;
                for j in 0..i.get_num_operands() {
                    m |= self.operand(i, j);
                }
                m
            }
            _ => UNKNOWN,
        };
        self.memo.insert(k, m);
        m
    }

    /// The tracked slot a load reads from.
    fn slot_operand(&self, i: InstructionValue<'_>) -> Option<usize> {
        let Some(Operand::Value(p)) = i.get_operand(0) else {
            return None;
        };
        let k = key(&p);
        let slot = *self.slot_of.get(&k).unwrap_or(&k);
        self.slots.contains_key(&slot).then_some(slot)
    }

    fn operand(&mut self, i: InstructionValue<'ctx>, j: u32) -> u64 {
        match i.get_operand(j) {
            Some(Operand::Value(v)) => self.kinds(v),
            _ => UNKNOWN,
        }
    }
}

fn holds_pointer(t: BasicTypeEnum<'_>) -> bool {
    match t {
        BasicTypeEnum::PointerType(_) => true,
        BasicTypeEnum::StructType(s) => s.get_field_types().into_iter().any(holds_pointer),
        BasicTypeEnum::ArrayType(a) => holds_pointer(a.get_element_type()),
        BasicTypeEnum::VectorType(v) => holds_pointer(v.get_element_type()),
        BasicTypeEnum::ScalableVectorType(v) => holds_pointer(v.get_element_type()),
        BasicTypeEnum::IntType(_) | BasicTypeEnum::FloatType(_) => false,
    }
}

fn instruction(v: BasicValueEnum<'_>) -> Option<InstructionValue<'_>> {
    match v {
        BasicValueEnum::ArrayValue(x) => x.as_instruction(),
        BasicValueEnum::IntValue(x) => x.as_instruction(),
        BasicValueEnum::FloatValue(x) => x.as_instruction(),
        BasicValueEnum::PointerValue(x) => x.as_instruction(),
        BasicValueEnum::StructValue(x) => x.as_instruction(),
        BasicValueEnum::VectorValue(x) => x.as_instruction(),
        BasicValueEnum::ScalableVectorValue(x) => x.as_instruction(),
    }
}

/// A value that is not an instruction or a parameter: a constant, a global or
/// a constant expression on one; none of them points into scratch or shared
/// memory (runtime buffers). Undef and null (zero) values point nowhere.
fn constant_kinds(v: BasicValueEnum<'_>) -> u64 {
    let r = v.as_value_ref();
    // SAFETY: `r` is a live value of the module being built.
    let nowhere = unsafe {
        inkwell::llvm_sys::core::LLVMIsUndef(r) != 0
            || (inkwell::llvm_sys::core::LLVMIsConstant(r) != 0
                && inkwell::llvm_sys::core::LLVMIsNull(r) != 0)
    };
    if nowhere {
        0
    } else {
        OTHER
    }
}

/// Tags `f`'s loads, stores and atomics; `shared` is the base of shared
/// memory and `items` the bases of the scratch items (disjoint ranges of the
/// scratch buffer). Loads of the items marked in `nonneg` (integers that only
/// hold non-negative values) get `!range` `[0, sign bit)`.
pub(crate) fn tag<'ctx>(
    ctx: &'ctx Context,
    f: FunctionValue<'ctx>,
    shared: BasicValueEnum<'ctx>,
    items: &[BasicValueEnum<'ctx>],
    nonneg: &[bool],
) {
    let mut roots = HashMap::new();
    roots.insert(key(&shared), SHARED);
    for (j, it) in items.iter().enumerate() {
        let bit = (FIRST_ITEM + j as u32).min(LAST_ITEM);
        roots.insert(key(it), 1u64 << bit);
    }
    let mut r = Resolver {
        roots,
        params: f.get_param_iter().map(|p| key(&p)).collect(),
        memo: HashMap::new(),
        slots: HashMap::new(),
        slot_of: HashMap::new(),
    };
    track_slots(f, &mut r);
    let range_kind = ctx.get_kind_id("range");
    let mut accesses = Vec::new();
    let mut used = 0u64;
    for bb in f.get_basic_blocks() {
        for i in bb.get_instructions() {
            let ptr = match i.get_opcode() {
                Opc::Load | Opc::AtomicRMW | Opc::AtomicCmpXchg => 0,
                Opc::Store => 1,
                _ => continue,
            };
            let m = r.operand(i, ptr);
            let item = m.trailing_zeros();
            if i.get_opcode() == Opc::Load
                && m.count_ones() == 1
                && (FIRST_ITEM..LAST_ITEM).contains(&item)
                && nonneg
                    .get((item - FIRST_ITEM) as usize)
                    .copied()
                    .unwrap_or(false)
            {
                if let AnyTypeEnum::IntType(t) = i.get_type() {
                    let md = ctx.metadata_node(&[
                        t.const_zero().into(),
                        t.const_int(1u64 << (t.get_bit_width() - 1), false).into(),
                    ]);
                    let _ = i.set_metadata(md, range_kind);
                }
            }
            if m.count_ones() == 1 && m != UNKNOWN {
                accesses.push((i, m.trailing_zeros()));
                used |= m;
            }
        }
    }
    if used.count_ones() < 2 {
        return;
    }
    let domain = ctx.metadata_node(&[ctx.metadata_string("hypersonic.simt.memory").into()]);
    let scopes: HashMap<u32, _> = (0..64)
        .filter(|b| used & (1u64 << b) != 0)
        .map(|b| {
            let name = format!("hypersonic.simt.memory.{b}");
            let md = ctx.metadata_node(&[ctx.metadata_string(&name).into(), domain.into()]);
            (b, md)
        })
        .collect();
    let mut tags = HashMap::new();
    for &b in scopes.keys() {
        let own = ctx.metadata_node(&[scopes[&b].into()]);
        let mut others: Vec<_> = scopes.iter().filter(|(&c, _)| c != b).collect();
        others.sort_by_key(|(&c, _)| c);
        let others: Vec<_> = others.into_iter().map(|(_, &md)| md.into()).collect();
        tags.insert(b, (own, ctx.metadata_node(&others)));
    }
    let scope_kind = ctx.get_kind_id("alias.scope");
    let noalias_kind = ctx.get_kind_id("noalias");
    for (i, b) in accesses {
        let (own, others) = tags[&b];
        let _ = i.set_metadata(own, scope_kind);
        let _ = i.set_metadata(others, noalias_kind);
    }
}

/// Finds the stack slots whose address never escapes and the values stored
/// into each.
fn track_slots<'ctx>(f: FunctionValue<'ctx>, r: &mut Resolver<'ctx>) {
    let insts: Vec<_> = f
        .get_basic_blocks()
        .into_iter()
        .flat_map(|bb| bb.get_instructions())
        .collect();
    for i in &insts {
        if i.get_opcode() == Opc::Alloca {
            r.slots.insert(key(i), Vec::new());
        }
    }
    // Address computations on slots (operand 0 of a GEP), to a fixed point.
    loop {
        let before = r.slot_of.len();
        for i in &insts {
            if i.get_opcode() == Opc::GetElementPtr && !r.slot_of.contains_key(&key(i)) {
                if let Some(Operand::Value(p)) = i.get_operand(0) {
                    let k = key(&p);
                    let slot = *r.slot_of.get(&k).unwrap_or(&k);
                    if r.slots.contains_key(&slot) {
                        r.slot_of.insert(key(i), slot);
                    }
                }
            }
        }
        if r.slot_of.len() == before {
            break;
        }
    }
    let mut escaped = Vec::new();
    for i in &insts {
        let op = i.get_opcode();
        for j in 0..i.get_num_operands() {
            let Some(Operand::Value(v)) = i.get_operand(j) else {
                continue;
            };
            let k = key(&v);
            let Some(&slot) = r.slot_of.get(&k).or(r.slots.get_key_value(&k).map(|x| x.0)) else {
                continue;
            };
            match (op, j) {
                (Opc::Load, 0) | (Opc::GetElementPtr, 0) => {}
                (Opc::Store, 1) => {
                    if let Some(Operand::Value(x)) = i.get_operand(0) {
                        if let Some(list) = r.slots.get_mut(&slot) {
                            list.push(x);
                        }
                    }
                }
                _ => escaped.push(slot),
            }
        }
    }
    for s in escaped {
        r.slots.remove(&s);
    }
}
