//! Hypersonic IR kernels → PTX through LLVM's NVPTX backend.
//!
//! The kernel's parameters follow the slot ABI of `hypersonic_ir::abi`: one
//! 64-bit `.param` per slot, in order, so that the runtime passes the same slot
//! buffer to `cuLaunchKernel` (one pointer per slot) that the host entry gets.
//! An array's data slot is a pointer parameter (still 8 bytes), which lets LLVM
//! know it points to global memory (`ld.global`, `atom.global`).
//!
//! Pipeline: every IR function with the shared code generator (internal status
//! ABI, kernel operations by `kernel::nvptx`) → the `ptx_kernel` wrapper →
//! transcendental math to libdevice names (`llvm.sin.f64` and `sin` become
//! `__nv_sin`, `frem` becomes `__nv_fmod`) → libdevice linked in, lazily (only
//! the functions used are read), `__nvvm_reflect` resolved → everything but the
//! kernel internalised → the pass pipeline of [`pipeline`] → PTX.
//!
//! A kernel that raises records `k + 1` (for `Module::exceptions[k]`) in the
//! global [`STATUS_SYMBOL`] with a compare-and-swap from 0, so the first
//! exception wins, and the thread returns.

use std::collections::{HashMap, HashSet};
use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use hypersonic_ir::{Module as IrModule, Scalar, Type};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::llvm_sys;
use inkwell::memory_buffer::MemoryBuffer;
use inkwell::module::{FlagBehavior, Linkage, Module};
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::types::BasicMetadataTypeEnum;
use inkwell::values::{
    AsValueRef, BasicMetadataValueEnum, BasicValue, BasicValueEnum, CallSiteValue, FunctionValue,
    InstructionOpcode,
};
use inkwell::{AddressSpace, AtomicOrdering, OptimizationLevel};

mod pipeline;

use crate::function::{internal_name, FnGen, ModGen};
use crate::jit::SharedMachine;
use crate::{attrs, types, CodegenError};

/// The `.global .u32` a kernel's first raised exception is recorded in
/// (`k + 1` for `Module::exceptions[k]`; 0 while none was raised).
pub const STATUS_SYMBOL: &str = "__hypersonic_status";

/// The PTX ISA version we emit: 7.8 is the first with sm_90 and is accepted by
/// every CUDA 12 `ptxas` and driver.
const PTX_FEATURES: &str = "+ptx78";

const TRIPLE: &str = "nvptx64-nvidia-cuda";

#[derive(Clone, Debug)]
pub struct PtxOptions {
    /// Compute capability, e.g. `(8, 0)` for `sm_80`.
    pub cc: (u32, u32),
    pub fastmath: bool,
    /// LLVM's pipeline before NVPTX code generation (see [`pipeline::pipeline`]):
    /// 0 the minimum, 1 and 2 (the default) a pipeline for `ptxas` to finish,
    /// 3 LLVM's full `default<O3>`. Code generation itself runs at `-O2`
    /// from level 1 up: at `-O0` `ptxas` gets much longer PTX and makes
    /// longer SASS with more registers of it.
    pub opt_level: u8,
    /// `libdevice.10.bc`; `None` searches the CUDA toolkit and the NVIDIA wheels
    /// (see [`find_libdevice`]), when a kernel needs it.
    pub libdevice: Option<std::path::PathBuf>,
    /// More directories for that search (Python's `sys.path`, where the
    /// wheels install).
    pub libdevice_search: Vec<PathBuf>,
}

impl Default for PtxOptions {
    fn default() -> Self {
        PtxOptions {
            cc: (8, 0),
            fastmath: false,
            opt_level: 2,
            libdevice: None,
            libdevice_search: Vec::new(),
        }
    }
}

/// How long each stage of [`compile_ptx`] took.
#[derive(Clone, Copy, Debug, Default)]
pub struct PtxTimes {
    /// IR → LLVM IR, the kernel wrapper, the libdevice renames, verification.
    pub codegen: Duration,
    /// Reading `libdevice.10.bc` (lazily) and linking the functions used; zero
    /// when the kernel needs no libdevice function.
    pub libdevice: Duration,
    /// The pass pipeline (see [`PtxOptions::opt_level`]).
    pub optimize: Duration,
    /// NVPTX code generation.
    pub emit: Duration,
}

impl PtxTimes {
    pub fn total(&self) -> Duration {
        self.codegen + self.libdevice + self.optimize + self.emit
    }
}

impl std::fmt::Display for PtxTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "{:.2} ms (LLVM IR {:.2}, libdevice {:.2}, optimise {:.2}, NVPTX {:.2})",
            ms(self.total()),
            ms(self.codegen),
            ms(self.libdevice),
            ms(self.optimize),
            ms(self.emit)
        )
    }
}

/// PTX text of one module, with its kernel (or device function) entry.
#[derive(Clone, Debug)]
pub struct Ptx {
    pub text: String,
    /// The `.entry` (kernel) or `.func` (device function) symbol.
    pub entry_name: String,
    /// Number of 64-bit parameter slots the kernel takes.
    pub param_slots: usize,
}

/// The architectures LLVM 19's NVPTX backend knows from sm_70 up.
const KNOWN_ARCHES: [&str; 7] = [
    "sm_70", "sm_72", "sm_75", "sm_80", "sm_86", "sm_87", "sm_89",
];

fn arch_name(cc: (u32, u32)) -> Result<String, CodegenError> {
    let name = format!("sm_{}{}", cc.0, cc.1);
    if KNOWN_ARCHES.contains(&name.as_str()) || name == "sm_90" {
        Ok(name)
    } else {
        Err(CodegenError::Unsupported(format!(
            "compute capability {}.{}: PTX is generated for sm_70 to sm_90 \
             (7.0, 7.2, 7.5, 8.0, 8.6, 8.7, 8.9, 9.0)",
            cc.0, cc.1
        )))
    }
}

fn init_nvptx() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| Target::initialize_nvptx(&InitializationConfig::default()));
}

/// One NVPTX target machine per architecture and optimisation level for the
/// whole process, used under its lock: a fresh machine builds its subtarget
/// (instruction and lowering tables) on first use, which cost ~3 ms of every
/// `compile_ptx` when each compile made its own.
fn shared_machine(
    arch: &str,
    opt: OptimizationLevel,
) -> Result<std::sync::Arc<Mutex<SharedMachine>>, CodegenError> {
    type Machines = Mutex<HashMap<(String, u8), std::sync::Arc<Mutex<SharedMachine>>>>;
    static MACHINES: OnceLock<Machines> = OnceLock::new();
    let all = MACHINES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut all = all.lock().unwrap_or_else(|e| e.into_inner());
    let key = (arch.to_string(), opt as u8);
    if let Some(m) = all.get(&key) {
        return Ok(m.clone());
    }
    let m = std::sync::Arc::new(Mutex::new(SharedMachine(machine(arch, opt)?)));
    all.insert(key, m.clone());
    Ok(m)
}

fn machine(arch: &str, opt: OptimizationLevel) -> Result<TargetMachine, CodegenError> {
    init_nvptx();
    let triple = TargetTriple::create(TRIPLE);
    let target = Target::from_triple(&triple).map_err(|e| CodegenError::Llvm(e.to_string()))?;
    target
        .create_target_machine(
            &triple,
            arch,
            PTX_FEATURES,
            opt,
            RelocMode::Default,
            CodeModel::Default,
        )
        .ok_or_else(|| {
            CodegenError::Llvm(format!("cannot create an NVPTX target machine for {arch}"))
        })
}

/// Errors LLVM reports through the context's diagnostic handler (without one,
/// LLVM prints them and exits the process).
#[derive(Default)]
struct Diagnostics {
    errors: Vec<String>,
}

extern "C" fn diagnostic_handler(info: llvm_sys::prelude::LLVMDiagnosticInfoRef, ctx: *mut c_void) {
    // SAFETY: `ctx` is the `Diagnostics` installed with this handler, which
    // outlives the context; `info` is valid for the duration of the call.
    unsafe {
        use llvm_sys::core::{
            LLVMDisposeMessage, LLVMGetDiagInfoDescription, LLVMGetDiagInfoSeverity,
        };
        if LLVMGetDiagInfoSeverity(info) != llvm_sys::LLVMDiagnosticSeverity::LLVMDSError {
            return;
        }
        let d = &mut *(ctx as *mut Diagnostics);
        let msg = LLVMGetDiagInfoDescription(info);
        if !msg.is_null() {
            d.errors
                .push(CStr::from_ptr(msg).to_string_lossy().into_owned());
            LLVMDisposeMessage(msg);
        }
    }
}

/// Compiles `module`, whose entry is a kernel (or, with `device`, a device
/// function with the internal status ABI), to PTX.
pub fn compile_ptx(
    module: &IrModule,
    opts: &PtxOptions,
    device: bool,
) -> Result<Ptx, CodegenError> {
    compile_ptx_timed(module, opts, device).map(|(ptx, _)| ptx)
}

/// [`compile_ptx`], also saying how long each stage took.
pub fn compile_ptx_timed(
    module: &IrModule,
    opts: &PtxOptions,
    device: bool,
) -> Result<(Ptx, PtxTimes), CodegenError> {
    hypersonic_ir::verify::verify_module(module)
        .map_err(|e| CodegenError::Unsupported(e.to_string()))?;
    let arch = arch_name(opts.cc)?;
    let mut diags = Box::new(Diagnostics::default());
    let ctx = Context::create();
    // SAFETY: `diags` is declared before `ctx`, so it is dropped after it.
    unsafe {
        llvm_sys::core::LLVMContextSetDiagnosticHandler(
            ctx.raw(),
            Some(diagnostic_handler),
            &mut *diags as *mut Diagnostics as *mut c_void,
        );
    }
    let r = compile_in(&ctx, module, opts, device, &arch);
    // SAFETY: the context is alive; no handler after this point.
    unsafe {
        llvm_sys::core::LLVMContextSetDiagnosticHandler(ctx.raw(), None, std::ptr::null_mut());
    }
    match r {
        Err(e) if !diags.errors.is_empty() => Err(CodegenError::Llvm(format!(
            "{e}: {}",
            diags.errors.join("; ")
        ))),
        Ok(_) if !diags.errors.is_empty() => Err(CodegenError::Llvm(diags.errors.join("; "))),
        r => r,
    }
}

fn compile_in(
    ctx: &Context,
    ir: &IrModule,
    opts: &PtxOptions,
    device: bool,
    arch: &str,
) -> Result<(Ptx, PtxTimes), CodegenError> {
    let t0 = Instant::now();
    let opt = match opts.opt_level {
        0 => OptimizationLevel::None,
        1 => OptimizationLevel::Less,
        2 => OptimizationLevel::Default,
        _ => OptimizationLevel::Aggressive,
    };
    let shared = shared_machine(arch, opt)?;
    let guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let tm = &guard.0;
    let entry_ir = ir.function(ir.entry);
    let module = ctx.create_module(&entry_ir.name);
    module.set_triple(&tm.get_triple());
    module.set_data_layout(&tm.get_target_data().get_data_layout());

    let ptr = ctx.ptr_type(AddressSpace::default());
    let mut funcs = Vec::with_capacity(ir.functions.len());
    for f in &ir.functions {
        let mut params: Vec<BasicMetadataTypeEnum> = vec![ptr.into()];
        params.extend(
            f.params
                .iter()
                .map(|p| BasicMetadataTypeEnum::from(types::ty(ctx, p))),
        );
        let fnty = ctx.i32_type().fn_type(&params, false);
        let fv = module.add_function(&internal_name(f), fnty, Some(Linkage::Internal));
        let nounwind = Attribute::get_named_enum_kind_id("nounwind");
        fv.add_attribute(
            AttributeLoc::Function,
            ctx.create_enum_attribute(nounwind, 0),
        );
        attrs::add_ret_out_attrs(ctx, fv);
        funcs.push(fv);
    }
    let mg = ModGen {
        ctx,
        module: &module,
        ir,
        funcs,
        fastmath: opts.fastmath,
        target: crate::kernel::Target::Nvptx,
    };
    for (f, fv) in ir.functions.iter().zip(&mg.funcs) {
        let mut g = FnGen::new(&mg, f, *fv)?;
        g.emit_body()?;
    }
    let body = mg.funcs[ir.entry.0 as usize];
    let entry_name = entry_ir.name.clone();
    let entry = if device {
        body.as_global_value().set_name(&entry_name);
        body.set_linkage(Linkage::External);
        body
    } else {
        build_kernel(ctx, &module, entry_ir, body, &entry_name)?
    };
    for f in module.get_functions() {
        // Helpers shared with the host backend may carry the host CPU's attributes.
        f.remove_string_attribute(AttributeLoc::Function, "target-cpu");
        f.remove_string_attribute(AttributeLoc::Function, "target-features");
        if opts.fastmath && f.count_basic_blocks() > 0 {
            for (k, v) in [
                ("denormal-fp-math-f32", "preserve-sign,preserve-sign"),
                ("unsafe-fp-math", "true"),
            ] {
                f.add_attribute(AttributeLoc::Function, ctx.create_string_attribute(k, v));
            }
        }
    }
    let needed = to_libdevice(ctx, &module)?;
    module
        .verify()
        .map_err(|e| CodegenError::Llvm(e.to_string()))?;
    let t1 = Instant::now();

    if !needed.is_empty() {
        let path = match &opts.libdevice {
            Some(p) => p.clone(),
            None => find_libdevice(&opts.libdevice_search).ok_or_else(|| {
                CodegenError::Unsupported(
                    "this kernel needs libdevice (libdevice.10.bc) for math functions and \
                     none was found: install the `nvidia-cuda-nvcc-cu12` wheel or a CUDA \
                     toolkit, or set HYPERSONIC_LIBDEVICE to the file"
                        .into(),
                )
            })?,
        };
        link_libdevice(ctx, &module, &path, &needed)?;
        resolve_reflect(&module, opts.fastmath, arch)?;
    }
    let ftz = ctx.i32_type().const_int(opts.fastmath as u64, false);
    module.add_basic_value_flag("nvvm-reflect-ftz", FlagBehavior::Override, ftz);
    internalize(&module, entry)?;
    let t2 = Instant::now();
    // For whoever tunes the lowering: the module as the optimiser receives it.
    if let Ok(path) = std::env::var("HYPERSONIC_DUMP_UNOPTIMIZED") {
        let _ = module.print_to_file(&path);
    }

    let pipeline = pipeline::pipeline(opts.opt_level);
    let pbo = PassBuilderOptions::create();
    pbo.set_loop_vectorization(false);
    pbo.set_loop_slp_vectorization(false);
    pbo.set_loop_unrolling(opts.opt_level >= 2);
    module
        .run_passes(&pipeline, tm, pbo)
        .map_err(|e| CodegenError::Llvm(e.to_string()))?;
    let t3 = Instant::now();

    let buf = tm
        .write_to_memory_buffer(&module, FileType::Assembly)
        .map_err(|e| CodegenError::Llvm(e.to_string()))?;
    let text = String::from_utf8_lossy(buf.as_slice()).into_owned();
    let t4 = Instant::now();
    let ptx = Ptx {
        text,
        entry_name,
        param_slots: hypersonic_ir::abi::args_slots(&entry_ir.params),
    };
    let times = PtxTimes {
        codegen: t1 - t0,
        libdevice: t2 - t1,
        optimize: t3 - t2,
        emit: t4 - t3,
    };
    Ok((ptx, times))
}

/// The parameter types of a kernel: one 64-bit parameter per ABI slot; an
/// array's data slot is a pointer.
fn slot_params<'ctx>(ctx: &'ctx Context, t: &Type, out: &mut Vec<BasicMetadataTypeEnum<'ctx>>) {
    let i64t = ctx.i64_type();
    match t {
        Type::None => {}
        Type::Scalar(Scalar::C128) => out.extend([BasicMetadataTypeEnum::from(i64t); 2]),
        Type::Scalar(_) => out.push(i64t.into()),
        Type::Array { ndim, .. } => {
            out.push(ctx.ptr_type(AddressSpace::default()).into());
            out.extend((0..2 * *ndim as usize).map(|_| BasicMetadataTypeEnum::from(i64t)));
        }
        Type::Tuple(items) => items.iter().for_each(|it| slot_params(ctx, it, out)),
    }
}

/// Rebuilds a value of type `t` from the kernel's parameters starting at `*next`.
fn unpack<'ctx>(
    ctx: &'ctx Context,
    b: &Builder<'ctx>,
    k: FunctionValue<'ctx>,
    t: &Type,
    next: &mut u32,
) -> Result<BasicValueEnum<'ctx>, CodegenError> {
    let mut param = || {
        let p = k
            .get_nth_param(*next)
            .ok_or_else(|| CodegenError::Llvm("kernel parameter count".into()));
        *next += 1;
        p
    };
    let i32t = ctx.i32_type();
    Ok(match t {
        Type::None => types::ty(ctx, t).const_zero(),
        Type::Scalar(s) => {
            let x = param()?.into_int_value();
            match s {
                Scalar::Bool => {
                    let byte = b.build_int_truncate(x, ctx.i8_type(), "")?;
                    b.build_int_compare(
                        inkwell::IntPredicate::NE,
                        byte,
                        ctx.i8_type().const_zero(),
                        "",
                    )?
                    .into()
                }
                Scalar::I64 | Scalar::U64 => x.into(),
                Scalar::F64 => b.build_bit_cast(x, ctx.f64_type(), "")?,
                Scalar::F32 => {
                    let lo = b.build_int_truncate(x, i32t, "")?;
                    b.build_bit_cast(lo, ctx.f32_type(), "")?
                }
                Scalar::C64 => {
                    let lo = b.build_int_truncate(x, i32t, "")?;
                    let hi =
                        b.build_right_shift(x, ctx.i64_type().const_int(32, false), false, "")?;
                    let hi = b.build_int_truncate(hi, i32t, "")?;
                    let re = b.build_bit_cast(lo, ctx.f32_type(), "")?;
                    let im = b.build_bit_cast(hi, ctx.f32_type(), "")?;
                    pair(b, types::complex(ctx, *s), re, im)?
                }
                Scalar::C128 => {
                    let y = param()?.into_int_value();
                    let re = b.build_bit_cast(x, ctx.f64_type(), "")?;
                    let im = b.build_bit_cast(y, ctx.f64_type(), "")?;
                    pair(b, types::complex(ctx, *s), re, im)?
                }
                s => b.build_int_truncate(x, types::int(ctx, *s), "")?.into(),
            }
        }
        Type::Array { ndim, .. } => {
            let data = param()?;
            let dims_t = ctx.i64_type().array_type(*ndim as u32);
            let mut parts = vec![];
            for _ in 0..2 {
                let mut dims = dims_t.get_undef();
                for i in 0..*ndim as u32 {
                    dims = b
                        .build_insert_value(dims, param()?, i, "")?
                        .into_array_value();
                }
                parts.push(dims);
            }
            let st = types::array(ctx, *ndim);
            let s = b.build_insert_value(st.get_undef(), data, 0, "")?;
            let s = b.build_insert_value(s.into_struct_value(), parts[0], 1, "")?;
            b.build_insert_value(s.into_struct_value(), parts[1], 2, "")?
                .as_basic_value_enum()
        }
        Type::Tuple(items) => {
            let st = types::ty(ctx, t).into_struct_type();
            let mut agg = st.get_undef();
            for (i, it) in items.iter().enumerate() {
                let v = unpack(ctx, b, k, it, next)?;
                agg = b
                    .build_insert_value(agg, v, i as u32, "")?
                    .into_struct_value();
            }
            agg.as_basic_value_enum()
        }
    })
}

fn pair<'ctx>(
    b: &Builder<'ctx>,
    t: inkwell::types::StructType<'ctx>,
    re: BasicValueEnum<'ctx>,
    im: BasicValueEnum<'ctx>,
) -> Result<BasicValueEnum<'ctx>, CodegenError> {
    let s = b.build_insert_value(t.get_undef(), re, 0, "")?;
    Ok(b.build_insert_value(s.into_struct_value(), im, 1, "")?
        .as_basic_value_enum())
}

/// `void @<name>(slots...)` with the `ptx_kernel` calling convention: rebuilds
/// the arguments, calls the body, records a raised exception in [`STATUS_SYMBOL`].
fn build_kernel<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    f: &hypersonic_ir::Function,
    body: FunctionValue<'ctx>,
    name: &str,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let mut params = vec![];
    for p in &f.params {
        slot_params(ctx, p, &mut params);
    }
    let k = module.add_function(
        name,
        ctx.void_type().fn_type(&params, false),
        Some(Linkage::External),
    );
    /// `CallingConv::PTX_Kernel`.
    const PTX_KERNEL: u32 = 71;
    k.set_call_conventions(PTX_KERNEL);
    let nounwind = Attribute::get_named_enum_kind_id("nounwind");
    k.add_attribute(
        AttributeLoc::Function,
        ctx.create_enum_attribute(nounwind, 0),
    );
    let md = ctx.metadata_node(&[
        k.as_global_value().as_pointer_value().into(),
        ctx.metadata_string("kernel").into(),
        ctx.i32_type().const_int(1, false).into(),
    ]);
    module
        .add_global_metadata("nvvm.annotations", &md)
        .map_err(|e| CodegenError::Llvm(e.to_string()))?;

    let status = module.add_global(
        ctx.i32_type(),
        Some(AddressSpace::from(1u16)),
        STATUS_SYMBOL,
    );
    status.set_initializer(&ctx.i32_type().const_zero());
    status.set_linkage(Linkage::External);
    status.set_alignment(4);

    let b = ctx.create_builder();
    let entry = ctx.append_basic_block(k, "entry");
    b.position_at_end(entry);
    let ret = b.build_alloca(types::ty(ctx, &f.ret), "ret")?;
    let mut argv: Vec<BasicMetadataValueEnum> = vec![ret.into()];
    let mut next = 0;
    for p in &f.params {
        argv.push(unpack(ctx, &b, k, p, &mut next)?.into());
    }
    let st = b
        .build_call(body, &argv, "status")?
        .try_as_basic_value()
        .basic()
        .ok_or_else(|| CodegenError::Llvm("kernel body returned void".into()))?
        .into_int_value();
    let zero = ctx.i32_type().const_zero();
    let failed = b.build_int_compare(inkwell::IntPredicate::NE, st, zero, "")?;
    let record = ctx.append_basic_block(k, "raised");
    let done = ctx.append_basic_block(k, "done");
    b.build_conditional_branch(failed, record, done)?;
    b.position_at_end(record);
    b.build_cmpxchg(
        status.as_pointer_value(),
        zero,
        st,
        AtomicOrdering::Monotonic,
        AtomicOrdering::Monotonic,
    )?;
    b.build_unconditional_branch(done)?;
    b.position_at_end(done);
    b.build_return(None)?;
    Ok(k)
}

/// Math that NVPTX cannot lower becomes libdevice calls: the transcendental
/// intrinsics (`llvm.sin.f32` → `__nv_sinf`), C library calls (`atan2` →
/// `__nv_atan2`) and `frem` (→ `__nv_fmod`). Returns the `__nv_*` functions used.
fn to_libdevice<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
) -> Result<Vec<String>, CodegenError> {
    const INTRINSICS: [&str; 12] = [
        "sin", "cos", "tan", "exp", "exp2", "exp10", "log", "log2", "log10", "pow", "sinh", "cosh",
    ];
    let mut renames: Vec<(FunctionValue<'ctx>, String)> = vec![];
    for f in module.get_functions() {
        if f.count_basic_blocks() > 0 {
            continue;
        }
        let name = f.get_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix("llvm.") {
            let Some((base, suffix)) = rest.rsplit_once('.') else {
                continue;
            };
            if !INTRINSICS.contains(&base) {
                continue;
            }
            let nv = match suffix {
                "f32" => format!("__nv_{base}f"),
                "f64" => format!("__nv_{base}"),
                _ => return Err(CodegenError::Unsupported(format!("{name} on the GPU"))),
            };
            renames.push((f, nv));
        } else if !name.starts_with("__nv_") {
            renames.push((f, format!("__nv_{name}")));
        }
    }
    for (f, nv) in renames {
        let target = match module.get_function(&nv) {
            Some(t) => t,
            None => module.add_function(&nv, f.get_type(), None),
        };
        f.replace_all_uses_with(target);
        // SAFETY: the declaration has no uses left.
        unsafe { f.delete() };
    }
    // `frem` would become a call to `fmod`, which the GPU does not have.
    let mut frems = vec![];
    for f in module.get_functions() {
        for bb in f.get_basic_block_iter() {
            for i in bb.get_instructions() {
                if i.get_opcode() == InstructionOpcode::FRem {
                    frems.push(i);
                }
            }
        }
    }
    let b = ctx.create_builder();
    for i in frems {
        let (Some(x), Some(y)) = (i.get_operand(0), i.get_operand(1)) else {
            continue;
        };
        let (Some(x), Some(y)) = (x.value(), y.value()) else {
            continue;
        };
        let ft = x.into_float_value().get_type();
        let name = if ft == ctx.f32_type() {
            "__nv_fmodf"
        } else {
            "__nv_fmod"
        };
        let decl = match module.get_function(name) {
            Some(d) => d,
            None => module.add_function(name, ft.fn_type(&[ft.into(), ft.into()], false), None),
        };
        b.position_before(&i);
        let r = b
            .build_call(decl, &[x.into(), y.into()], "fmod")?
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| CodegenError::Llvm("fmod returned void".into()))?;
        let ri = r
            .as_instruction_value()
            .ok_or_else(|| CodegenError::Llvm("fmod call".into()))?;
        i.replace_all_uses_with(&ri);
        i.erase_from_basic_block();
    }
    let mut needed: Vec<String> = module
        .get_functions()
        .filter(|f| f.count_basic_blocks() == 0)
        .map(|f| f.get_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("__nv_"))
        .collect();
    needed.sort();
    Ok(needed)
}

/// The bytes of each libdevice file read so far, kept for the process: lazy
/// parsing reads function bodies from them on demand.
fn libdevice_bytes(path: &Path) -> Result<&'static [u8], CodegenError> {
    static FILES: Mutex<Option<HashMap<PathBuf, &'static [u8]>>> = Mutex::new(None);
    let mut files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    let files = files.get_or_insert_with(HashMap::new);
    if let Some(b) = files.get(path) {
        return Ok(b);
    }
    let bytes = std::fs::read(path).map_err(|e| {
        CodegenError::Unsupported(format!("cannot read libdevice {}: {e}", path.display()))
    })?;
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    files.insert(path.to_path_buf(), bytes);
    Ok(bytes)
}

/// Links the libdevice functions `needed` (and what they use) into `module`.
/// The bitcode is loaded lazily, every other function of libdevice is made
/// internal, so the linker reads and copies only what is referenced.
fn link_libdevice<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    path: &Path,
    needed: &[String],
) -> Result<(), CodegenError> {
    let bytes = libdevice_bytes(path)?;
    let buf = MemoryBuffer::create_from_memory_range(bytes, "libdevice.10.bc");
    let mut raw: llvm_sys::prelude::LLVMModuleRef = std::ptr::null_mut();
    // SAFETY: on success the lazy module owns the buffer object (not the bytes,
    // which are 'static), so the buffer must not be disposed again here.
    let failed = unsafe {
        llvm_sys::bit_reader::LLVMGetBitcodeModuleInContext2(ctx.raw(), buf.as_mut_ptr(), &mut raw)
    };
    if failed != 0 || raw.is_null() {
        return Err(CodegenError::Llvm(format!(
            "cannot parse libdevice {}",
            path.display()
        )));
    }
    std::mem::forget(buf);
    // SAFETY: `raw` is a fresh module in `ctx`, owned by us from here.
    let lib = unsafe { Module::new(raw) };
    for n in needed {
        match lib.get_function(n) {
            Some(f) if !f.as_global_value().is_declaration() || f.count_basic_blocks() > 0 => {}
            Some(_) | None => {
                return Err(CodegenError::Unsupported(format!(
                    "{} has no function {n}",
                    path.display()
                )))
            }
        }
    }
    let keep: HashSet<&str> = needed.iter().map(|s| s.as_str()).collect();
    for f in lib.get_functions() {
        let name = f.get_name().to_string_lossy();
        if !keep.contains(name.as_ref()) && !name.starts_with("llvm.") && name != "__nvvm_reflect" {
            f.set_linkage(Linkage::Internal);
        }
    }
    for g in lib.get_globals() {
        g.set_linkage(Linkage::Internal);
    }
    lib.set_triple(&module.get_triple());
    lib.set_data_layout(&module.get_data_layout());
    // SAFETY: both modules live in `ctx`; the linker consumes `lib`.
    let failed =
        unsafe { llvm_sys::linker::LLVMLinkModules2(module.as_mut_ptr(), lib.as_mut_ptr()) };
    std::mem::forget(lib);
    if failed != 0 {
        return Err(CodegenError::Llvm("linking libdevice failed".into()));
    }
    Ok(())
}

/// The string a `__nvvm_reflect` argument points to, through constant casts.
///
/// # Safety
/// `v` must be a valid value.
unsafe fn reflect_arg(mut v: llvm_sys::prelude::LLVMValueRef) -> Option<String> {
    use llvm_sys::core::*;
    for _ in 0..8 {
        if v.is_null() {
            return None;
        }
        if !LLVMIsAGlobalVariable(v).is_null() {
            let init = LLVMGetInitializer(v);
            if init.is_null() || LLVMIsConstantString(init) == 0 {
                return None;
            }
            let mut len = 0;
            let p = LLVMGetAsString(init, &mut len);
            let bytes = std::slice::from_raw_parts(p as *const u8, len);
            let s = String::from_utf8_lossy(bytes);
            return Some(s.trim_end_matches('\0').to_string());
        }
        if LLVMIsAConstantExpr(v).is_null() && LLVMIsAInstruction(v).is_null() {
            return None;
        }
        v = LLVMGetOperand(v, 0);
    }
    None
}

/// Replaces libdevice's `__nvvm_reflect("__CUDA_FTZ")` (and `__CUDA_ARCH`)
/// queries by constants before optimisation, as NVVM's reflect pass does.
fn resolve_reflect(module: &Module<'_>, ftz: bool, arch: &str) -> Result<(), CodegenError> {
    let Some(reflect) = module.get_function("__nvvm_reflect") else {
        return Ok(());
    };
    let sm: u64 = arch.trim_start_matches("sm_").parse().unwrap_or(70);
    let i32t = module.get_context().i32_type();
    let mut calls = vec![];
    for f in module.get_functions() {
        for bb in f.get_basic_block_iter() {
            for i in bb.get_instructions() {
                if i.get_opcode() != InstructionOpcode::Call {
                    continue;
                }
                let Ok(cs) = CallSiteValue::try_from(i) else {
                    continue;
                };
                if cs.get_called_fn_value() == Some(reflect) {
                    calls.push(i);
                }
            }
        }
    }
    for i in calls {
        let arg = i
            .get_operand(0)
            .and_then(|o| o.value())
            .ok_or_else(|| CodegenError::Llvm("__nvvm_reflect without an argument".into()))?;
        // SAFETY: `arg` is a live operand of a live instruction.
        let what = unsafe { reflect_arg(arg.as_value_ref()) }.unwrap_or_default();
        let v = match what.as_str() {
            "__CUDA_FTZ" => ftz as u64,
            "__CUDA_ARCH" => sm * 10,
            _ => 0,
        };
        let c = i32t.const_int(v, false);
        // SAFETY: a call of `i32 @__nvvm_reflect(ptr)` is an `i32` value.
        unsafe {
            llvm_sys::core::LLVMReplaceAllUsesWith(i.as_value_ref(), c.as_value_ref());
        }
        i.erase_from_basic_block();
    }
    if reflect
        .as_global_value()
        .as_pointer_value()
        .get_first_use()
        .is_none()
    {
        // SAFETY: no uses are left.
        unsafe { reflect.delete() };
        Ok(())
    } else {
        Err(CodegenError::Llvm("__nvvm_reflect is still used".into()))
    }
}

/// Everything but the entry point (and the status word, which the runtime
/// reads, and the dynamic shared memory declaration) becomes internal, so the
/// optimiser may inline and drop it.
fn internalize(module: &Module<'_>, entry: FunctionValue<'_>) -> Result<(), CodegenError> {
    for f in module.get_functions() {
        if f == entry {
            continue;
        }
        let name = f.get_name().to_string_lossy().into_owned();
        if f.count_basic_blocks() > 0 {
            f.set_linkage(Linkage::Internal);
        } else if !name.starts_with("llvm.") {
            return Err(CodegenError::Unsupported(format!(
                "{name} is not available on the GPU"
            )));
        }
    }
    for g in module.get_globals() {
        let name = g.get_name().to_string_lossy().into_owned();
        if name != STATUS_SYMBOL && !g.is_declaration() {
            g.set_linkage(Linkage::Internal);
        }
    }
    Ok(())
}

/// Finds `libdevice.10.bc`: `$HYPERSONIC_LIBDEVICE`, `$CUDA_HOME`/`$CUDA_PATH`,
/// `/usr/local/cuda`, then the `nvidia-cuda-nvcc-cu12` / `nvidia-nvvm` wheels
/// in the running Python's `sys.path` (passed by the caller as `search`) and
/// in `$VIRTUAL_ENV`.
pub fn find_libdevice(search: &[std::path::PathBuf]) -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("HYPERSONIC_LIBDEVICE") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    let mut candidates = vec![];
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(root) = std::env::var_os(var) {
            candidates.push(PathBuf::from(root).join("nvvm/libdevice/libdevice.10.bc"));
        }
    }
    candidates.push(PathBuf::from(
        "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc",
    ));
    let mut search = search.to_vec();
    // The active virtual environment's site-packages, where the wheels install.
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        if let Ok(rd) = std::fs::read_dir(PathBuf::from(venv).join("lib")) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with("python3") {
                    search.push(e.path().join("site-packages"));
                }
            }
        }
    }
    for dir in &search {
        candidates.push(dir.join("nvidia/cuda_nvcc/nvvm/libdevice/libdevice.10.bc"));
        candidates.push(dir.join("nvidia/nvvm/libdevice/libdevice.10.bc"));
    }
    candidates.into_iter().find(|p| p.is_file())
}
