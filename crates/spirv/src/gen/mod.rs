//! The inlined kernel → a SPIR-V module with rspirv's data representation.
//!
//! Values: every IR value is a list of SPIR-V ids, its *leaves*, in the order of
//! the ABI slots: a scalar is one leaf (a complex number is one 2-vector), an
//! array is its data (a 64-bit device address, or for shared, local and constant
//! arrays a byte offset into the allocation), then its shape, then its byte
//! strides; a tuple is its items' leaves; `None` has none. Locals are one
//! `Function` variable per leaf. Integers of one width share one (signless)
//! SPIR-V type: the operation decides signedness.
//!
//! Shared, local and constant arrays are `Workgroup`, `Function` and `Private`
//! variables. Which allocation an array value refers to is found statically
//! (through locals, selects and tuples); an array value that could refer to two
//! allocations is an error.

mod arith;
mod mem;
mod warp;

use std::collections::{BTreeSet, HashMap};

use hypersonic_ir::{
    abi, BinaryOp, Block, Const, Exception, Function, Geometry, Layout, Op, Scalar, Space, Stmt,
    Type, UnaryOp, ValueId,
};
use rspirv::dr::{Builder, InsertPoint, Instruction, Operand};
use rspirv::spirv::{
    self, AddressingModel, BuiltIn, Capability, Decoration, ExecutionModel, FunctionControl,
    GlslStd450Op as GLOp, LoopControl, MemoryModel, SelectionControl, StorageClass, Word,
};

use crate::{SpirvError, SpirvModule, SpirvOptions, SPEC_BLOCK_X, SPEC_BLOCK_Y, SPEC_BLOCK_Z};

pub(crate) type R<T> = Result<T, SpirvError>;

pub(crate) fn unsupported<T>(what: impl Into<String>) -> R<T> {
    Err(SpirvError::Unsupported(what.into()))
}

fn internal(e: impl std::fmt::Debug) -> SpirvError {
    SpirvError::Unsupported(format!("internal error in the SPIR-V generator: {e:?}"))
}

/// Memory semantics bits.
pub(crate) const SEM_RELAXED: u32 = 0;
pub(crate) const SEM_ACQ_REL: u32 = 0x8;
pub(crate) const SEM_UNIFORM: u32 = 0x40;
pub(crate) const SEM_WORKGROUP: u32 = 0x100;
/// Scopes.
pub(crate) const SCOPE_DEVICE: u32 = 1;
pub(crate) const SCOPE_WORKGROUP: u32 = 2;
pub(crate) const SCOPE_SUBGROUP: u32 = 3;

/// Which allocation an array value's data refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Base {
    /// Not known (yet): global memory, or not reached by the analysis.
    Unknown,
    One(ValueId),
    Conflict,
}

impl Base {
    fn merge(self, o: Base) -> Base {
        match (self, o) {
            (Base::Unknown, x) | (x, Base::Unknown) => x,
            (Base::One(a), Base::One(b)) if a == b => Base::One(a),
            _ => Base::Conflict,
        }
    }
}

/// A shared, local or constant allocation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Alloc {
    pub var: Word,
    pub class: StorageClass,
    /// Element type as stored (see `Gen::storage_ty`).
    pub elem: Word,
}

struct LoopCtx {
    merge: Word,
    cont: Word,
    broke: bool,
}

pub(crate) struct Gen<'a> {
    pub b: Builder,
    pub f: &'a Function,
    pub opts: &'a SpirvOptions,
    caps: BTreeSet<u32>,
    exts: BTreeSet<String>,
    pub features: BTreeSet<&'static str>,
    glsl: Word,
    consts: HashMap<(Word, u64), Word>,
    bools: [Option<Word>; 2],
    interface: Vec<Word>,
    builtins: HashMap<u32, Word>,
    vals: Vec<Option<Vec<Word>>>,
    locals: Vec<Vec<Word>>,
    fn_vars: Vec<Instruction>,
    loops: Vec<LoopCtx>,
    pub terminated: bool,
    slots: Vec<Word>,
    status_addr: Word,
    param_start: Vec<usize>,
    bases: HashMap<ValueId, Vec<Base>>,
    allocs: HashMap<ValueId, Alloc>,
    alloc_ops: HashMap<ValueId, Op>,
    pub spec_block: [Word; 3],
    pub wg_size: Word,
    spec_dyn: Option<Word>,
    dyn_allocs: HashMap<Scalar, Alloc>,
    nthreads: Option<Word>,
    xch: Option<Word>,
    reduce_counter: Option<Word>,
    pub static_shared: u64,
    pub per_thread_shared: u64,
    pub uses_f64: bool,
    pub uses_subgroups: bool,
    exceptions: &'a [Exception],
    /// Whether the float arithmetic being emitted may be contracted (fused into
    /// an `fma` by the driver): only a user statement's own arithmetic under
    /// fastmath; everything else gets `NoContraction`.
    pub contract: bool,
    /// The grid size (`u32` x, y, z) loaded from the push constants, when the
    /// kernel reads `gridDim`.
    grid_dims: Option<[Word; 3]>,
}

pub(crate) fn generate(
    f: &Function,
    exceptions: &[Exception],
    opts: &SpirvOptions,
) -> R<SpirvModule> {
    let mut b = Builder::new();
    b.set_version(1, 5);
    let glsl = b.ext_inst_import("GLSL.std.450");
    b.memory_model(
        AddressingModel::PhysicalStorageBuffer64,
        MemoryModel::GLSL450,
    );
    let mut g = Gen {
        b,
        f,
        opts,
        caps: BTreeSet::new(),
        exts: BTreeSet::new(),
        features: BTreeSet::new(),
        glsl,
        consts: HashMap::new(),
        bools: [None; 2],
        interface: vec![],
        builtins: HashMap::new(),
        vals: vec![None; f.values.len()],
        locals: vec![],
        fn_vars: vec![],
        loops: vec![],
        terminated: false,
        slots: vec![],
        status_addr: 0,
        param_start: vec![],
        bases: HashMap::new(),
        allocs: HashMap::new(),
        alloc_ops: HashMap::new(),
        spec_block: [0; 3],
        wg_size: 0,
        spec_dyn: None,
        dyn_allocs: HashMap::new(),
        nthreads: None,
        xch: None,
        reduce_counter: None,
        static_shared: 0,
        per_thread_shared: 0,
        uses_f64: false,
        uses_subgroups: false,
        exceptions,
        contract: false,
        grid_dims: None,
    };
    g.cap(Capability::Shader);
    g.cap(Capability::PhysicalStorageBufferAddresses);
    g.cap(Capability::Int64);
    g.features.insert("bufferDeviceAddress");
    g.features.insert("shaderInt64");
    g.analyze_bases()?;
    let module = g.kernel()?;
    Ok(module)
}

impl<'a> Gen<'a> {
    // ---- module-level helpers ------------------------------------------------

    pub fn cap(&mut self, c: Capability) {
        self.caps.insert(c as u32);
    }

    pub fn ext_name(&mut self, e: &str) {
        self.exts.insert(e.to_string());
    }

    pub fn t_void(&mut self) -> Word {
        self.b.type_void()
    }
    pub fn t_bool(&mut self) -> Word {
        self.b.type_bool()
    }
    pub fn t_int(&mut self, bits: u32) -> Word {
        match bits {
            8 => {
                self.cap(Capability::Int8);
                self.features.insert("shaderInt8");
            }
            16 => {
                self.cap(Capability::Int16);
                self.features.insert("shaderInt16");
            }
            _ => {}
        }
        self.b.type_int(bits, 0)
    }
    pub fn t_u32(&mut self) -> Word {
        self.t_int(32)
    }
    pub fn t_u64(&mut self) -> Word {
        self.t_int(64)
    }
    pub fn t_float(&mut self, bits: u32) -> Word {
        if bits == 64 {
            self.uses_f64 = true;
            self.cap(Capability::Float64);
        }
        self.b.type_float(bits, None)
    }
    pub fn t_vec(&mut self, elem: Word, n: u32) -> Word {
        self.b.type_vector(elem, n)
    }
    pub fn t_ptr(&mut self, class: StorageClass, pointee: Word) -> Word {
        self.b.type_pointer(None, class, pointee)
    }

    /// The register type of a scalar.
    pub fn scalar_ty(&mut self, s: Scalar) -> Word {
        match s {
            Scalar::Bool => self.t_bool(),
            Scalar::F32 | Scalar::F64 => self.t_float(s.bits()),
            Scalar::C64 | Scalar::C128 => {
                let f = self.t_float(s.bits());
                self.t_vec(f, 2)
            }
            s => self.t_int(s.bits()),
        }
    }

    /// The type of each leaf of a value of type `t`.
    pub fn leaf_types(&mut self, t: &Type) -> Vec<Word> {
        match t {
            Type::Scalar(s) => vec![self.scalar_ty(*s)],
            Type::None => vec![],
            Type::Array { ndim, .. } => {
                let i = self.t_u64();
                vec![i; 1 + 2 * *ndim as usize]
            }
            Type::Tuple(items) => items.iter().flat_map(|t| self.leaf_types(t)).collect(),
        }
    }

    pub fn const_bits(&mut self, ty: Word, bits: u64, wide: bool) -> Word {
        if let Some(c) = self.consts.get(&(ty, bits)) {
            return *c;
        }
        let c = if wide {
            self.b.constant_bit64(ty, bits)
        } else {
            self.b.constant_bit32(ty, bits as u32)
        };
        self.consts.insert((ty, bits), c);
        c
    }

    /// An integer constant of `bits` width (8/16-bit constants are 32-bit literals).
    pub fn c_int(&mut self, bits: u32, v: i64) -> Word {
        let t = self.t_int(bits);
        let masked = if bits == 64 {
            v as u64
        } else {
            (v as u64) & ((1u64 << bits) - 1)
        };
        self.const_bits(t, masked, bits == 64)
    }
    pub fn c_u32(&mut self, v: u32) -> Word {
        self.c_int(32, v as i64)
    }
    pub fn c_u64(&mut self, v: u64) -> Word {
        self.c_int(64, v as i64)
    }
    pub fn c_float(&mut self, bits: u32, v: f64) -> Word {
        let t = self.t_float(bits);
        if bits == 64 {
            self.const_bits(t, v.to_bits(), true)
        } else {
            self.const_bits(t, (v as f32).to_bits() as u64, false)
        }
    }
    pub fn c_bool(&mut self, v: bool) -> Word {
        if let Some(c) = self.bools[v as usize] {
            return c;
        }
        let t = self.t_bool();
        let c = if v {
            self.b.constant_true(t)
        } else {
            self.b.constant_false(t)
        };
        self.bools[v as usize] = Some(c);
        c
    }
    /// A constant of scalar type `s` with the value `v` (ints: two's complement).
    pub fn c_scalar(&mut self, s: Scalar, v: f64, iv: i64) -> Word {
        match s {
            Scalar::Bool => self.c_bool(iv != 0),
            Scalar::F32 | Scalar::F64 => self.c_float(s.bits(), v),
            Scalar::C64 | Scalar::C128 => {
                let re = self.c_float(s.bits(), v);
                let im = self.c_float(s.bits(), 0.0);
                self.c_composite(s, re, im)
            }
            s => self.c_int(s.bits(), iv),
        }
    }
    pub fn c_composite(&mut self, s: Scalar, re: Word, im: Word) -> Word {
        let t = self.scalar_ty(s);
        self.b.constant_composite(t, [re, im])
    }

    /// A global variable (listed in the entry point's interface).
    pub fn global_var(&mut self, class: StorageClass, ty: Word, init: Option<Word>) -> Word {
        let p = self.t_ptr(class, ty);
        let v = self.b.id();
        let mut ops = vec![Operand::StorageClass(class)];
        if let Some(i) = init {
            ops.push(Operand::IdRef(i));
        }
        self.b
            .module_mut()
            .types_global_values
            .push(Instruction::new(spirv::Op::Variable, Some(p), Some(v), ops));
        self.interface.push(v);
        v
    }

    /// A `Function` variable, placed at the top of the entry block.
    pub fn fn_var(&mut self, ty: Word, init: Option<Word>) -> Word {
        let p = self.t_ptr(StorageClass::Function, ty);
        let id = self.b.id();
        let mut ops = vec![Operand::StorageClass(StorageClass::Function)];
        if let Some(i) = init {
            ops.push(Operand::IdRef(i));
        }
        self.fn_vars.push(Instruction::new(
            spirv::Op::Variable,
            Some(p),
            Some(id),
            ops,
        ));
        id
    }

    pub fn builtin(&mut self, bi: BuiltIn, ty: Word) -> Word {
        if let Some(v) = self.builtins.get(&(bi as u32)) {
            return *v;
        }
        let v = self.global_var(StorageClass::Input, ty, None);
        self.b
            .decorate(v, Decoration::BuiltIn, [Operand::BuiltIn(bi)]);
        self.builtins.insert(bi as u32, v);
        v
    }

    // ---- instructions ----------------------------------------------------------

    pub fn opx(&mut self, o: spirv::Op, ty: Word, operands: Vec<Operand>) -> R<Word> {
        let id = self.b.id();
        self.b
            .insert_into_block(
                InsertPoint::End,
                Instruction::new(o, Some(ty), Some(id), operands),
            )
            .map_err(internal)?;
        if !self.contract && is_float_arithmetic(o) {
            // Vulkan lets a driver fuse `a * b + c` into one rounding unless told
            // not to; Python's semantics (and the math library's exact steps)
            // round each operation.
            self.b.decorate(id, Decoration::NoContraction, []);
        }
        Ok(id)
    }

    /// An instruction whose operands are all ids.
    pub fn op(&mut self, o: spirv::Op, ty: Word, args: &[Word]) -> R<Word> {
        self.opx(o, ty, args.iter().map(|a| Operand::IdRef(*a)).collect())
    }

    pub fn op_void(&mut self, o: spirv::Op, operands: Vec<Operand>) -> R<()> {
        self.b
            .insert_into_block(InsertPoint::End, Instruction::new(o, None, None, operands))
            .map_err(internal)
    }

    /// A GLSL.std.450 instruction.
    pub fn glsl(&mut self, ty: Word, o: GLOp, args: &[Word]) -> R<Word> {
        let glsl = self.glsl;
        self.b
            .ext_inst(
                ty,
                None,
                glsl,
                o as u32,
                args.iter().map(|a| Operand::IdRef(*a)),
            )
            .map_err(internal)
    }

    pub fn load(&mut self, ty: Word, ptr: Word, align: Option<u32>) -> R<Word> {
        let mut ops = vec![Operand::IdRef(ptr)];
        if let Some(a) = align {
            ops.push(Operand::MemoryAccess(spirv::MemoryAccess::ALIGNED));
            ops.push(Operand::LiteralBit32(a));
        }
        self.opx(spirv::Op::Load, ty, ops)
    }

    pub fn store(&mut self, ptr: Word, v: Word, align: Option<u32>) -> R<()> {
        let mut ops = vec![Operand::IdRef(ptr), Operand::IdRef(v)];
        if let Some(a) = align {
            ops.push(Operand::MemoryAccess(spirv::MemoryAccess::ALIGNED));
            ops.push(Operand::LiteralBit32(a));
        }
        self.op_void(spirv::Op::Store, ops)
    }

    pub fn select(&mut self, ty: Word, c: Word, a: Word, b: Word) -> R<Word> {
        self.op(spirv::Op::Select, ty, &[c, a, b])
    }

    pub fn new_label(&mut self) -> Word {
        self.b.id()
    }

    pub fn begin(&mut self, label: Word) -> R<()> {
        self.b.begin_block(Some(label)).map_err(internal)?;
        self.terminated = false;
        Ok(())
    }

    pub fn branch(&mut self, to: Word) -> R<()> {
        self.b.branch(to).map_err(internal)?;
        self.terminated = true;
        Ok(())
    }

    pub fn branch_cond(&mut self, c: Word, t: Word, f: Word) -> R<()> {
        self.b.branch_conditional(c, t, f, []).map_err(internal)?;
        self.terminated = true;
        Ok(())
    }

    pub fn selection_merge(&mut self, merge: Word) -> R<()> {
        self.b
            .selection_merge(merge, SelectionControl::NONE)
            .map_err(internal)
    }

    pub fn loop_merge(&mut self, merge: Word, cont: Word) -> R<()> {
        self.b
            .loop_merge(merge, cont, LoopControl::NONE, [])
            .map_err(internal)
    }

    /// `if cond { then(self) }` as a structured selection; code continues in
    /// the merge block.
    pub fn if_then(&mut self, cond: Word, then: impl FnOnce(&mut Self) -> R<()>) -> R<()> {
        let t = self.new_label();
        let m = self.new_label();
        self.selection_merge(m)?;
        self.branch_cond(cond, t, m)?;
        self.begin(t)?;
        then(self)?;
        if !self.terminated {
            self.branch(m)?;
        }
        self.begin(m)
    }

    // ---- values ----------------------------------------------------------------

    pub fn vals(&self, v: ValueId) -> R<&[Word]> {
        self.vals
            .get(v.0 as usize)
            .and_then(|x| x.as_deref())
            .ok_or_else(|| internal(format!("v{} used before its definition", v.0)))
    }

    /// The single leaf of a scalar value.
    pub fn v(&self, v: ValueId) -> R<Word> {
        match self.vals(v)? {
            [x] => Ok(*x),
            _ => Err(internal(format!("v{} is not a scalar", v.0))),
        }
    }

    pub fn ty(&self, v: ValueId) -> &'a Type {
        self.f.value_type(v)
    }

    pub fn scalar_of(&self, v: ValueId) -> R<Scalar> {
        self.ty(v)
            .scalar()
            .ok_or_else(|| internal(format!("v{} is {}, not a scalar", v.0, self.ty(v))))
    }

    // ---- the kernel --------------------------------------------------------------

    fn kernel(mut self) -> R<SpirvModule> {
        let f = self.f;
        let param_slots = abi::args_slots(&f.params);
        let total = param_slots + 1;
        // `gridDim` travels in the push constants (three `u32` after the `u64`s):
        // `NumWorkgroups` is one dispatch's count, not the grid's, when the
        // runtime splits a large grid into several dispatches.
        let reads_grid = reads_grid_dim(&f.body);
        let grid_bytes: u64 = if reads_grid { 12 } else { 0 };
        let max_push = self.opts.max_push_constant_bytes as u64;
        let in_push = 8 * total as u64 + grid_bytes <= max_push;
        let push_members = if in_push { total } else { 2 };
        let push_bytes = 8 * push_members as u64 + grid_bytes;
        if push_bytes > max_push {
            return Err(SpirvError::MissingFeature {
                feature: format!(
                    "{push_bytes} bytes of push constants (the device has {})",
                    self.opts.max_push_constant_bytes
                ),
                why: "kernel arguments travel in push constants".into(),
            });
        }

        // Spec constants: the block shape and the dynamic shared memory.
        let u32t = self.t_u32();
        let mut spec = [0; 3];
        for (i, id) in [SPEC_BLOCK_X, SPEC_BLOCK_Y, SPEC_BLOCK_Z]
            .iter()
            .enumerate()
        {
            let c = self.b.spec_constant_bit32(u32t, 1);
            self.b
                .decorate(c, Decoration::SpecId, [Operand::LiteralBit32(*id)]);
            spec[i] = c;
        }
        let uvec3 = self.t_vec(u32t, 3);
        let wg = self.b.spec_constant_composite(uvec3, spec);
        self.b.decorate(
            wg,
            Decoration::BuiltIn,
            [Operand::BuiltIn(BuiltIn::WorkgroupSize)],
        );
        self.spec_block = spec;
        self.wg_size = wg;

        // Push constants.
        let u64t = self.t_u64();
        let mut members = vec![u64t; push_members];
        let mut offsets: Vec<u32> = (0..push_members as u32).map(|i| 8 * i).collect();
        let grid_offset = reads_grid.then_some(8 * push_members as u32);
        if let Some(off) = grid_offset {
            members.extend([u32t; 3]);
            offsets.extend([off, off + 4, off + 8]);
        }
        let block_id = self.b.id();
        let st = self.b.type_struct_id(Some(block_id), members);
        self.b.decorate(st, Decoration::Block, []);
        for (i, off) in offsets.iter().enumerate() {
            self.b.member_decorate(
                st,
                i as u32,
                Decoration::Offset,
                [Operand::LiteralBit32(*off)],
            );
        }
        let pc = self.global_var(StorageClass::PushConstant, st, None);

        let void = self.t_void();
        let fnty = self.b.type_function(void, vec![]);
        let main = self
            .b
            .begin_function(void, None, FunctionControl::NONE, fnty)
            .map_err(internal)?;
        self.b.begin_block(None).map_err(internal)?;
        let pc_u64 = self.t_ptr(StorageClass::PushConstant, u64t);
        let mut pcv = vec![];
        for i in 0..push_members {
            let idx = self.c_u32(i as u32);
            let p = self.op(spirv::Op::AccessChain, pc_u64, &[pc, idx])?;
            pcv.push(self.load(u64t, p, None)?);
        }
        self.status_addr = pcv[push_members - 1];
        if reads_grid {
            let pc_u32 = self.t_ptr(StorageClass::PushConstant, u32t);
            let mut dims = [0; 3];
            for (k, d) in dims.iter_mut().enumerate() {
                let idx = self.c_u32((push_members + k) as u32);
                let p = self.op(spirv::Op::AccessChain, pc_u32, &[pc, idx])?;
                *d = self.load(u32t, p, None)?;
            }
            self.grid_dims = Some(dims);
        }
        if in_push {
            self.slots = pcv[..param_slots].to_vec();
        } else {
            let base = pcv[0];
            for i in 0..param_slots {
                let off = self.c_u64(8 * i as u64);
                let a = self.op(spirv::Op::IAdd, u64t, &[base, off])?;
                let p = self.psb_ptr(u64t, a)?;
                let v = self.load(u64t, p, Some(8))?;
                self.slots.push(v);
            }
        }
        let mut start = 0;
        for p in &f.params {
            self.param_start.push(start);
            start += abi::slots(p);
        }

        // Locals: one zero-initialised variable per leaf.
        for l in &f.locals {
            let tys = self.leaf_types(&l.ty);
            let mut vars = vec![];
            for t in tys {
                let z = self.b.constant_null(t);
                vars.push(self.fn_var(t, Some(z)));
            }
            self.locals.push(vars);
        }
        for s in collect_allocs(&f.body) {
            if let Stmt::Let { value, op, .. } = s {
                self.alloc_ops.insert(*value, op.clone());
            }
        }

        self.block(&f.body)?;
        if !self.terminated {
            self.b.ret().map_err(internal)?;
            self.terminated = true;
        }
        // Function variables go first in the entry block.
        let fi = self
            .b
            .selected_function()
            .ok_or_else(|| internal("no function"))?;
        let vars = std::mem::take(&mut self.fn_vars);
        {
            let m = self.b.module_mut();
            let entry = &mut m.functions[fi].blocks[0].instructions;
            for (k, v) in vars.into_iter().enumerate() {
                entry.insert(k, v);
            }
        }
        self.b.end_function().map_err(internal)?;

        if self.uses_f64 && !self.opts.float64 {
            return Err(SpirvError::MissingFeature {
                feature: "float64 (shaderFloat64)".into(),
                why: format!("kernel `{}` computes with float64 values", short(&f.name)),
            });
        }
        if self.uses_f64 {
            self.features.insert("shaderFloat64");
        }
        let interface = self.interface.clone();
        self.b
            .entry_point(ExecutionModel::GLCompute, main, f.name.clone(), interface);
        for c in std::mem::take(&mut self.caps) {
            let c = Capability::from_u32(c).ok_or_else(|| internal("capability"))?;
            self.b.capability(c);
        }
        for e in std::mem::take(&mut self.exts) {
            self.b.extension(e);
        }
        let subgroup_size = (self.uses_subgroups
            && !crate::prepare::emulated_warps(self.opts.subgroup_size))
        .then_some(self.opts.subgroup_size);
        let features = self.features.iter().map(|s| s.to_string()).collect();
        let static_shared = self.static_shared;
        let per_thread = self.per_thread_shared;
        let module = self.b.module();
        use rspirv::binary::Assemble;
        Ok(SpirvModule {
            words: module.assemble(),
            entry_name: f.name.clone(),
            param_slots,
            slots_in_push_constants: in_push,
            static_shared_bytes: static_shared,
            push_constant_bytes: push_bytes as u32,
            grid_offset,
            shared_bytes_per_thread: per_thread,
            required_features: features,
            subgroup_size,
        })
    }

    /// A `PhysicalStorageBuffer` pointer to `pointee` at the address `addr` (u64).
    pub fn psb_ptr(&mut self, pointee: Word, addr: Word) -> R<Word> {
        let p = self.t_ptr(StorageClass::PhysicalStorageBuffer, pointee);
        self.op(spirv::Op::ConvertUToPtr, p, &[addr])
    }

    /// The leaves of parameter `i`, rebuilt from its slots.
    fn param(&mut self, i: u32) -> R<Vec<Word>> {
        let t = self
            .f
            .params
            .get(i as usize)
            .ok_or_else(|| internal(format!("no parameter {i}")))?;
        let mut next = self.param_start[i as usize];
        let mut out = vec![];
        self.unpack(t, &mut next, &mut out)?;
        Ok(out)
    }

    fn unpack(&mut self, t: &Type, next: &mut usize, out: &mut Vec<Word>) -> R<()> {
        let mut slot = |g: &mut Self| -> R<Word> {
            let s = *g.slots.get(*next).ok_or_else(|| internal("slot count"))?;
            *next += 1;
            Ok(s)
        };
        match t {
            Type::None => {}
            Type::Scalar(s) => {
                let x = slot(self)?;
                let v = match s {
                    Scalar::Bool => {
                        let u64t = self.t_u64();
                        let m = self.c_u64(0xff);
                        let byte = self.op(spirv::Op::BitwiseAnd, u64t, &[x, m])?;
                        let z = self.c_u64(0);
                        let bt = self.t_bool();
                        self.op(spirv::Op::INotEqual, bt, &[byte, z])?
                    }
                    Scalar::I64 | Scalar::U64 => x,
                    Scalar::F64 => {
                        let ft = self.t_float(64);
                        self.op(spirv::Op::Bitcast, ft, &[x])?
                    }
                    Scalar::F32 => {
                        let u32t = self.t_u32();
                        let lo = self.op(spirv::Op::UConvert, u32t, &[x])?;
                        let ft = self.t_float(32);
                        self.op(spirv::Op::Bitcast, ft, &[lo])?
                    }
                    Scalar::C64 => {
                        let vt = self.scalar_ty(*s);
                        self.op(spirv::Op::Bitcast, vt, &[x])?
                    }
                    Scalar::C128 => {
                        let y = slot(self)?;
                        let ft = self.t_float(64);
                        let re = self.op(spirv::Op::Bitcast, ft, &[x])?;
                        let im = self.op(spirv::Op::Bitcast, ft, &[y])?;
                        let vt = self.scalar_ty(*s);
                        self.op(spirv::Op::CompositeConstruct, vt, &[re, im])?
                    }
                    s => {
                        let it = self.t_int(s.bits());
                        self.op(spirv::Op::UConvert, it, &[x])?
                    }
                };
                out.push(v);
            }
            Type::Array { ndim, .. } => {
                for _ in 0..1 + 2 * *ndim as usize {
                    out.push(slot(self)?);
                }
            }
            Type::Tuple(items) => {
                for it in items {
                    self.unpack(it, next, out)?;
                }
            }
        }
        Ok(())
    }

    // ---- statements -------------------------------------------------------------

    fn block(&mut self, blk: &Block) -> R<()> {
        for s in &blk.stmts {
            if self.terminated {
                break;
            }
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> R<()> {
        match s {
            Stmt::Let { value, op, loc } => {
                let rt = self.f.value_type(*value);
                self.contract = self.opts.fastmath
                    && *loc != crate::prepare::MATHLIB_LOC
                    && matches!(
                        op,
                        Op::Binary(
                            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div,
                            ..
                        ) | Op::Unary(UnaryOp::Neg, _)
                    );
                let v = self.value_op(*value, op, rt);
                self.contract = false;
                self.vals[value.0 as usize] = Some(v?);
            }
            Stmt::Store { local, value } => {
                let vars = self
                    .locals
                    .get(local.0 as usize)
                    .cloned()
                    .ok_or_else(|| internal("no such local"))?;
                let vs = self.vals(*value)?.to_vec();
                for (var, v) in vars.iter().zip(vs) {
                    self.store(*var, v, None)?;
                }
            }
            Stmt::ArrayStore {
                array,
                indices,
                value,
                ..
            } => self.array_store(*array, indices, *value)?,
            Stmt::If {
                cond,
                then_block,
                else_block,
            } => {
                let c = self.v(*cond)?;
                let t = self.new_label();
                let m = self.new_label();
                let e = if else_block.stmts.is_empty() {
                    m
                } else {
                    self.new_label()
                };
                self.selection_merge(m)?;
                self.branch_cond(c, t, e)?;
                self.begin(t)?;
                self.block(then_block)?;
                let then_done = self.terminated;
                if !self.terminated {
                    self.branch(m)?;
                }
                let mut else_done = false;
                if e != m {
                    self.begin(e)?;
                    self.block(else_block)?;
                    else_done = self.terminated;
                    if !self.terminated {
                        self.branch(m)?;
                    }
                }
                self.begin(m)?;
                if then_done && else_done {
                    self.b.unreachable().map_err(internal)?;
                    self.terminated = true;
                }
            }
            Stmt::Loop { body } => {
                let header = self.new_label();
                let start = self.new_label();
                let cont = self.new_label();
                let merge = self.new_label();
                self.branch(header)?;
                self.begin(header)?;
                self.loop_merge(merge, cont)?;
                self.branch(start)?;
                self.begin(start)?;
                self.loops.push(LoopCtx {
                    merge,
                    cont,
                    broke: false,
                });
                let r = self.block(body);
                let ctx = self.loops.pop().ok_or_else(|| internal("loop stack"))?;
                r?;
                if !self.terminated {
                    self.branch(cont)?;
                }
                self.begin(cont)?;
                self.branch(header)?;
                self.begin(merge)?;
                if !ctx.broke {
                    self.b.unreachable().map_err(internal)?;
                    self.terminated = true;
                }
            }
            Stmt::Break | Stmt::Continue => {
                let brk = matches!(s, Stmt::Break);
                let l = self
                    .loops
                    .last_mut()
                    .ok_or_else(|| internal("break outside a loop"))?;
                let to = if brk {
                    l.broke = true;
                    l.merge
                } else {
                    l.cont
                };
                self.branch(to)?;
            }
            Stmt::Return { .. } => {
                self.b.ret().map_err(internal)?;
                self.terminated = true;
            }
            Stmt::Raise { exc, .. } => {
                if exc.0 as usize >= self.exceptions.len() {
                    return unsupported(format!("raise of unknown exception #{}", exc.0));
                }
                let u32t = self.t_u32();
                let p = {
                    let a = self.status_addr;
                    self.psb_ptr(u32t, a)?
                };
                let scope = self.c_u32(SCOPE_DEVICE);
                let sem = self.c_u32(SEM_RELAXED);
                let k = self.c_u32(exc.0 + 1);
                let z = self.c_u32(0);
                self.op(
                    spirv::Op::AtomicCompareExchange,
                    u32t,
                    &[p, scope, sem, sem, k, z],
                )?;
                self.b.ret().map_err(internal)?;
                self.terminated = true;
            }
            Stmt::Barrier { .. } => self.barrier()?,
            Stmt::Fence(scope) => self.fence(*scope)?,
            Stmt::SyncWarp { .. } => self.sync_warp()?,
        }
        Ok(())
    }

    fn value_op(&mut self, id: ValueId, op: &Op, rt: &Type) -> R<Vec<Word>> {
        Ok(match op {
            Op::Param(i) => self.param(*i)?,
            Op::Const(c) => self.constant(c, rt)?,
            Op::LoadLocal(l) => {
                let vars = self
                    .locals
                    .get(l.0 as usize)
                    .cloned()
                    .ok_or_else(|| internal("no such local"))?;
                let tys = self.leaf_types(rt);
                let mut out = vec![];
                for (var, t) in vars.iter().zip(tys) {
                    out.push(self.load(t, *var, None)?);
                }
                out
            }
            Op::Unary(o, a) => vec![self.unary(*o, *a)?],
            Op::Binary(o, a, b) => vec![self.binary(*o, *a, *b)?],
            Op::Compare(o, a, b) => vec![self.compare(*o, *a, *b)?],
            Op::Cast(a) => {
                let from = self.scalar_of(*a)?;
                let to = rt
                    .scalar()
                    .ok_or_else(|| internal(format!("cast to {rt}")))?;
                let x = self.v(*a)?;
                vec![self.cast(x, from, to)?]
            }
            Op::Bitcast(a) => {
                let t = self.leaf_types(rt)[0];
                let x = self.v(*a)?;
                let from = self.scalar_of(*a)?;
                if Some(from) == rt.scalar() || self.scalar_ty(from) == t {
                    vec![x]
                } else {
                    vec![self.op(spirv::Op::Bitcast, t, &[x])?]
                }
            }
            Op::Select(c, a, b) => {
                let c = self.v(*c)?;
                let (xa, xb) = (self.vals(*a)?.to_vec(), self.vals(*b)?.to_vec());
                let tys = self.leaf_types(rt);
                let mut out = vec![];
                for ((x, y), t) in xa.into_iter().zip(xb).zip(tys) {
                    out.push(if x == y { x } else { self.select(t, c, x, y)? });
                }
                out
            }
            Op::Math(m, args) => vec![self.math(*m, args)?],
            Op::Call(..) => return unsupported("a call that was not inlined"),
            Op::ArrayDim(a, k) => {
                let leaves = self.vals(*a)?;
                vec![leaves[1 + *k as usize]]
            }
            Op::ArrayStride(a, k) => {
                let leaves = self.vals(*a)?;
                let nd = (leaves.len() - 1) / 2;
                vec![leaves[1 + nd + *k as usize]]
            }
            Op::ArrayLoad(a, idx) => vec![self.array_load(*a, idx)?],
            Op::SubArray(a, idx) => self.sub_array(*a, idx)?,
            Op::MakeTuple(items) => {
                let mut out = vec![];
                for it in items {
                    out.extend_from_slice(self.vals(*it)?);
                }
                out
            }
            Op::TupleGet(t, i) => {
                let items = match self.ty(*t) {
                    Type::Tuple(items) => items,
                    t => return unsupported(format!("item of {t}")),
                };
                let start: usize = items[..*i as usize].iter().map(leaf_count).sum();
                let n = leaf_count(&items[*i as usize]);
                self.vals(*t)?[start..start + n].to_vec()
            }
            Op::TupleIndex(t, i) => {
                let items = match self.ty(*t) {
                    Type::Tuple(items) if !items.is_empty() => items,
                    t => return unsupported(format!("dynamic index into {t}")),
                };
                let n = leaf_count(&items[0]);
                let all = self.vals(*t)?.to_vec();
                let idx = self.v(*i)?;
                let tys = self.leaf_types(rt);
                let bt = self.t_bool();
                let mut r = all[..n].to_vec();
                for k in 1..items.len() {
                    let kc = self.c_int(64, k as i64);
                    let here = self.op(spirv::Op::IEqual, bt, &[idx, kc])?;
                    for j in 0..n {
                        r[j] = self.select(tys[j], here, all[k * n + j], r[j])?;
                    }
                }
                r
            }
            Op::ComplexNew(re, im) => {
                let t = self.leaf_types(rt)[0];
                let (re, im) = (self.v(*re)?, self.v(*im)?);
                vec![self.op(spirv::Op::CompositeConstruct, t, &[re, im])?]
            }
            Op::ComplexReal(a) | Op::ComplexImag(a) => {
                let t = self.leaf_types(rt)[0];
                let x = self.v(*a)?;
                let k = u32::from(matches!(op, Op::ComplexImag(_)));
                vec![self.opx(
                    spirv::Op::CompositeExtract,
                    t,
                    vec![Operand::IdRef(x), Operand::LiteralBit32(k)],
                )?]
            }
            Op::Geometry(k, axis) => vec![self.geometry(*k, *axis)?],
            Op::LaneId => vec![self.lane_id()?],
            Op::SharedArray { .. } | Op::LocalArray { .. } | Op::ConstArray { .. } => {
                self.allocation(id)?
            }
            Op::Atomic {
                op,
                array,
                indices,
                value,
            } => vec![self.atomic(*op, *array, indices, *value)?],
            Op::AtomicCas {
                array,
                indices,
                expected,
                desired,
            } => vec![self.atomic_cas(*array, indices, *expected, *desired)?],
            Op::WarpShuffle {
                kind,
                mask,
                value,
                lane,
                width,
            } => vec![self.shuffle(*kind, *mask, *value, *lane, *width)?],
            Op::WarpVote { kind, mask, pred } => vec![self.vote(*kind, *mask, *pred)?],
            Op::BarrierReduce(k, p) => vec![self.barrier_reduce(*k, *p)?],
            Op::Bit(k, a) => vec![self.bit(*k, *a)?],
        })
    }

    fn constant(&mut self, c: &Const, rt: &Type) -> R<Vec<Word>> {
        let bad = || unsupported(format!("constant {c:?} of type {rt}"));
        Ok(match (c, rt) {
            (Const::None, Type::None) => vec![],
            (Const::None, t) => {
                let tys = self.leaf_types(t);
                tys.into_iter().map(|t| self.b.constant_null(t)).collect()
            }
            (Const::Bool(b), Type::Scalar(s)) => {
                vec![self.c_scalar(*s, *b as u8 as f64, *b as i64)]
            }
            (Const::Int(i), Type::Scalar(s)) if !s.is_float() && !s.is_complex() => {
                vec![self.c_scalar(*s, 0.0, *i)]
            }
            (Const::Int(i), Type::Scalar(s)) => vec![self.c_scalar(*s, *i as f64, 0)],
            (Const::Float(x), Type::Scalar(s)) if s.is_float() || s.is_complex() => {
                vec![self.c_scalar(*s, *x, 0)]
            }
            (Const::Complex(re, im), Type::Scalar(s)) if s.is_complex() => {
                let r = self.c_float(s.bits(), *re);
                let i = self.c_float(s.bits(), *im);
                vec![self.c_composite(*s, r, i)]
            }
            (
                Const::Array {
                    data,
                    shape,
                    strides,
                },
                Type::Array { ndim, .. },
            ) if shape.len() == *ndim as usize && strides.len() == *ndim as usize => {
                let mut out = vec![self.c_u64(*data)];
                for x in shape.iter().chain(strides) {
                    out.push(self.c_int(64, *x));
                }
                out
            }
            _ => return bad(),
        })
    }

    // ---- allocations and their static bases ----------------------------------------

    /// Which allocation each non-global array (in each value and local) refers to.
    fn analyze_bases(&mut self) -> R<()> {
        let f = self.f;
        let mut locals: Vec<Vec<Base>> = f
            .locals
            .iter()
            .map(|l| vec![Base::Unknown; array_count(&l.ty)])
            .collect();
        loop {
            let mut changed = false;
            let mut vals: HashMap<ValueId, Vec<Base>> = HashMap::new();
            bases_block(f, &f.body, &mut vals, &mut locals, &mut changed);
            if !changed {
                self.bases = vals;
                break;
            }
        }
        Ok(())
    }

    /// The allocation a non-global array value refers to.
    pub fn base_of(&mut self, a: ValueId) -> R<Alloc> {
        let b = self
            .bases
            .get(&a)
            .and_then(|v| v.first().copied())
            .unwrap_or(Base::Unknown);
        match b {
            Base::One(id) => self.alloc_for(id),
            Base::Conflict => unsupported(
                "a shared, local or constant array variable that may refer to different \
                 arrays (assign each array to its own variable)",
            ),
            Base::Unknown => Err(internal(format!("no allocation for v{}", a.0))),
        }
    }
}

/// Whether a block reads `gridDim` (`Op::Geometry(GridDim, _)`).
fn reads_grid_dim(b: &Block) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Let {
            op: Op::Geometry(Geometry::GridDim, _),
            ..
        } => true,
        Stmt::If {
            then_block,
            else_block,
            ..
        } => reads_grid_dim(then_block) || reads_grid_dim(else_block),
        Stmt::Loop { body } => reads_grid_dim(body),
        _ => false,
    })
}

/// The float arithmetic instructions `NoContraction` applies to.
fn is_float_arithmetic(o: spirv::Op) -> bool {
    use spirv::Op as O;
    matches!(
        o,
        O::FAdd
            | O::FSub
            | O::FMul
            | O::FDiv
            | O::FRem
            | O::FMod
            | O::FNegate
            | O::VectorTimesScalar
            | O::Dot
    )
}

fn short(name: &str) -> &str {
    name.split("__").next().unwrap_or(name)
}

pub(crate) fn leaf_count(t: &Type) -> usize {
    match t {
        Type::Scalar(_) => 1,
        Type::None => 0,
        Type::Array { ndim, .. } => 1 + 2 * *ndim as usize,
        Type::Tuple(items) => items.iter().map(leaf_count).sum(),
    }
}

/// Number of arrays in a value of type `t` (in leaf order).
fn array_count(t: &Type) -> usize {
    match t {
        Type::Array { .. } => 1,
        Type::Tuple(items) => items.iter().map(array_count).sum(),
        _ => 0,
    }
}

fn collect_allocs(b: &Block) -> Vec<&Stmt> {
    let mut out = vec![];
    for s in &b.stmts {
        match s {
            Stmt::Let {
                op: Op::SharedArray { .. } | Op::LocalArray { .. } | Op::ConstArray { .. },
                ..
            } => out.push(s),
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                out.extend(collect_allocs(then_block));
                out.extend(collect_allocs(else_block));
            }
            Stmt::Loop { body } => out.extend(collect_allocs(body)),
            _ => {}
        }
    }
    out
}

fn bases_block(
    f: &Function,
    b: &Block,
    vals: &mut HashMap<ValueId, Vec<Base>>,
    locals: &mut [Vec<Base>],
    changed: &mut bool,
) {
    for s in &b.stmts {
        match s {
            Stmt::Let { value, op, .. } => {
                let n = array_count(f.value_type(*value));
                if n == 0 {
                    continue;
                }
                let get = |v: &ValueId, vals: &HashMap<ValueId, Vec<Base>>| {
                    vals.get(v)
                        .cloned()
                        .unwrap_or_else(|| vec![Base::Unknown; array_count(f.value_type(*v))])
                };
                let r: Vec<Base> = match op {
                    Op::SharedArray { .. } | Op::LocalArray { .. } | Op::ConstArray { .. } => {
                        vec![Base::One(*value)]
                    }
                    Op::SubArray(a, _) => get(a, vals),
                    Op::LoadLocal(l) => locals[l.0 as usize].clone(),
                    Op::Select(_, x, y) => get(x, vals)
                        .into_iter()
                        .zip(get(y, vals))
                        .map(|(p, q)| p.merge(q))
                        .collect(),
                    Op::MakeTuple(items) => items.iter().flat_map(|i| get(i, vals)).collect(),
                    Op::TupleGet(t, i) => {
                        let items = match f.value_type(*t) {
                            Type::Tuple(items) => items,
                            _ => continue,
                        };
                        let start: usize = items[..*i as usize].iter().map(array_count).sum();
                        get(t, vals)[start..start + n].to_vec()
                    }
                    Op::TupleIndex(t, _) => {
                        let all = get(t, vals);
                        let mut r = vec![Base::Unknown; n];
                        for (k, b) in all.into_iter().enumerate() {
                            r[k % n] = r[k % n].merge(b);
                        }
                        r
                    }
                    _ => vec![Base::Unknown; n],
                };
                vals.insert(*value, r);
            }
            Stmt::Store { local, value } => {
                if let Some(vb) = vals.get(value).cloned() {
                    let lb = &mut locals[local.0 as usize];
                    for (x, y) in lb.iter_mut().zip(vb) {
                        let m = x.merge(y);
                        if m != *x {
                            *x = m;
                            *changed = true;
                        }
                    }
                }
            }
            Stmt::If {
                then_block,
                else_block,
                ..
            } => {
                bases_block(f, then_block, vals, locals, changed);
                bases_block(f, else_block, vals, locals, changed);
            }
            Stmt::Loop { body } => bases_block(f, body, vals, locals, changed),
            _ => {}
        }
    }
}

/// The stride to address axis `k` with: the element size on the contiguous
/// axis of a C or F array, else the array's own stride.
pub(crate) fn contiguous(t: &Type, k: usize) -> Option<u32> {
    match t {
        Type::Array {
            dtype,
            ndim,
            layout,
            ..
        } => {
            let c = match layout {
                Layout::C => *ndim as usize - 1,
                Layout::F => 0,
                Layout::A => return None,
            };
            (c == k).then_some(dtype.size())
        }
        _ => None,
    }
}

pub(crate) fn space_of(t: &Type) -> Space {
    match t {
        Type::Array { space, .. } => *space,
        _ => Space::Global,
    }
}
