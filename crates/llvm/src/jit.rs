//! Optimisation, native code generation and the JIT.
//!
//! # Ownership
//!
//! inkwell ties every LLVM object to a `&'ctx Context`, but a [`HostModule`] must
//! own its code and be `Send + Sync`. Each `HostModule` therefore owns a private
//! `Context` on the heap (`Box::into_raw`, so its address never moves) and holds
//! the module and execution engine with that borrow widened to `'static`. This is
//! sound because (1) the context is freed only in `Drop`, after everything that
//! borrows it, and (2) nothing borrowing it ever escapes the struct. One context
//! per module (instead of a shared, leaked one) gives each compilation its own
//! type/constant tables, freed with the code, and lets threads compile in parallel.
//!
//! LLVM contexts are not thread-safe but are not thread-bound either: every use
//! after compilation (printing IR, emitting assembly) happens under a `Mutex`,
//! which is what makes the struct `Sync`. The entry point itself is plain machine
//! code in memory owned by the execution engine.
//!
//! # JIT choice
//!
//! MCJIT (inkwell's `create_jit_execution_engine`) compiles the whole module
//! eagerly, which suits us: the module is small and fully needed. MCJIT builds its
//! target machine for a generic CPU, so every function carries the host's
//! `target-cpu`/`target-features` attributes (see `attrs`), which instruction
//! selection honours per function; the optimisation pipeline runs with a target
//! machine for the host CPU, so the vectoriser's cost model knows the vector width.

use std::mem::ManuallyDrop;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use hypersonic_ir::abi::HostEntry;
use hypersonic_ir::Module as IrModule;
use inkwell::context::Context;
use inkwell::execution_engine::ExecutionEngine;
use inkwell::module::{Linkage, Module};
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine,
};
use inkwell::OptimizationLevel;

use crate::function::{internal_name, FnGen, ModGen};
use crate::{attrs, entry, types, CodegenError, CompileTimes, HostOptions};

/// A module compiled to native code for this machine. The code lives as long as
/// this value; it may be shared between threads.
pub struct HostModule {
    entry: HostEntry,
    name: String,
    times: CompileTimes,
    llvm: Mutex<Llvm>,
    ir_text: OnceLock<String>,
    asm_text: OnceLock<String>,
}

/// The LLVM objects of one compiled module. Field drop order is handled by `Drop`.
struct Llvm {
    /// The optimised module as it was before native code generation (MCJIT's
    /// code generator rewrites its own copy in place), for `llvm_ir` and `asm`.
    optimized: ManuallyDrop<Module<'static>>,
    engine: ManuallyDrop<ExecutionEngine<'static>>,
    /// The module the engine owns; kept so that it is dropped before the context.
    jitted: ManuallyDrop<Module<'static>>,
    machine: ManuallyDrop<TargetMachine>,
    context: *mut Context,
}

impl Drop for Llvm {
    fn drop(&mut self) {
        // SAFETY: each field is dropped exactly once, borrowers before the context
        // they borrow, and the context pointer came from `Box::into_raw`.
        unsafe {
            ManuallyDrop::drop(&mut self.optimized);
            ManuallyDrop::drop(&mut self.jitted);
            ManuallyDrop::drop(&mut self.engine);
            ManuallyDrop::drop(&mut self.machine);
            drop(Box::from_raw(self.context));
        }
    }
}

// SAFETY: see the module documentation: all LLVM state is behind the mutex, and
// LLVM objects may move between threads.
unsafe impl Send for Llvm {}

/// Initialises LLVM's native target once per process.
fn init_native() -> Result<(), CodegenError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| Target::initialize_native(&InitializationConfig::default()))
        .clone()
        .map_err(|e| CodegenError::Llvm(format!("native target: {e}")))
}

/// A target machine shared by every compile of the process, behind a mutex
/// (the host's here, NVPTX's in `ptx`).
pub(crate) struct SharedMachine(pub(crate) TargetMachine);
// SAFETY: the machine is only used under its mutex.
unsafe impl Send for SharedMachine {}

/// One target machine per optimisation level for the whole process: its
/// subtarget (cost tables for the optimiser) is built once, not per compile.
fn shared_machine(opt: OptimizationLevel) -> Result<&'static Mutex<SharedMachine>, CodegenError> {
    static MACHINES: [OnceLock<Result<Mutex<SharedMachine>, String>>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let slot = &MACHINES[opt as usize];
    slot.get_or_init(|| {
        host_machine(opt)
            .map(|m| Mutex::new(SharedMachine(m)))
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| CodegenError::Llvm(e.clone()))
}

fn host_machine(opt: OptimizationLevel) -> Result<TargetMachine, CodegenError> {
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|e| CodegenError::Llvm(e.to_string()))?;
    let (cpu, features) = attrs::host_cpu();
    target
        .create_target_machine(
            &triple,
            cpu,
            features,
            opt,
            RelocMode::Default,
            CodeModel::Default,
        )
        .ok_or_else(|| CodegenError::Llvm("cannot create a target machine for this host".into()))
}

/// Emits a module's functions into the (empty) LLVM module and returns the
/// symbol of its entry point, an `i32 (ptr, ptr)` function.
pub(crate) type Codegen<'c> =
    &'c dyn Fn(&'static Context, &Module<'static>, &TargetMachine) -> Result<String, CodegenError>;

pub(crate) fn compile(ir: &IrModule, opts: &HostOptions) -> Result<HostModule, CodegenError> {
    compile_with(ir, opts, &|ctx, module, _| {
        host_codegen(ctx, module, ir, opts)
    })
}

/// The host functions of `ir` and the slot-ABI entry of its entry function.
fn host_codegen(
    ctx: &'static Context,
    module: &Module<'static>,
    ir: &IrModule,
    opts: &HostOptions,
) -> Result<String, CodegenError> {
    let entry_ir = ir.function(ir.entry);
    // Declare every function first so that calls may go in any order.
    let ptr = ctx.ptr_type(inkwell::AddressSpace::default());
    let mut funcs = Vec::with_capacity(ir.functions.len());
    for f in &ir.functions {
        let mut params: Vec<inkwell::types::BasicMetadataTypeEnum> = vec![ptr.into()];
        params.extend(
            f.params
                .iter()
                .map(|p| inkwell::types::BasicMetadataTypeEnum::from(types::ty(ctx, p))),
        );
        let fnty = ctx.i32_type().fn_type(&params, false);
        let fv = module.add_function(&internal_name(f), fnty, Some(Linkage::Internal));
        attrs::add_fn_attrs(ctx, fv);
        attrs::add_ret_out_attrs(ctx, fv);
        funcs.push(fv);
    }
    let mg = ModGen {
        ctx,
        module,
        ir,
        funcs,
        fastmath: opts.fastmath,
        target: crate::kernel::Target::Host,
    };
    for (f, fv) in ir.functions.iter().zip(&mg.funcs) {
        let mut g = FnGen::new(&mg, f, *fv)?;
        g.emit_body()?;
    }
    let body = mg.funcs[ir.entry.0 as usize];
    entry::build_entry(&mg, entry_ir, body)?;
    Ok(entry::entry_name(entry_ir))
}

/// Compiles `ir` with a custom code generator (the CPU SIMT lowering uses this)
/// through the same optimisation pipeline and JIT as host code.
pub(crate) fn compile_with(
    ir: &IrModule,
    opts: &HostOptions,
    codegen: Codegen<'_>,
) -> Result<HostModule, CodegenError> {
    hypersonic_ir::verify::verify_module(ir)
        .map_err(|e| CodegenError::Unsupported(e.to_string()))?;
    init_native()?;
    let t0 = Instant::now();
    let context = Box::into_raw(Box::new(Context::create()));
    // SAFETY: the context lives until `Llvm::drop` (or the error path below), and
    // everything borrowing it is owned by that same `Llvm`.
    let ctx: &'static Context = unsafe { &*context };
    match compile_in(ctx, context, ir, opts, t0, codegen) {
        Ok(m) => Ok(m),
        Err(e) => {
            // Everything borrowing the context was dropped inside `compile_in`.
            // SAFETY: the pointer came from `Box::into_raw` and is not used again.
            unsafe { drop(Box::from_raw(context)) };
            Err(e)
        }
    }
}

fn compile_in(
    ctx: &'static Context,
    context: *mut Context,
    ir: &IrModule,
    opts: &HostOptions,
    t0: Instant,
    codegen: Codegen<'_>,
) -> Result<HostModule, CodegenError> {
    let entry_ir = ir.function(ir.entry);
    let module = ctx.create_module(&entry_ir.name);
    let opt = match opts.opt_level {
        0 => OptimizationLevel::None,
        1 => OptimizationLevel::Less,
        2 => OptimizationLevel::Default,
        _ => OptimizationLevel::Aggressive,
    };
    let machine = host_machine(opt)?;
    module.set_triple(&machine.get_triple());
    module.set_data_layout(&machine.get_target_data().get_data_layout());

    let name = codegen(ctx, &module, &machine)?;
    module
        .verify()
        .map_err(|e| CodegenError::Llvm(e.to_string()))?;
    let t1 = Instant::now();
    // For whoever tunes the lowering: the module as the optimiser receives it.
    if let Ok(path) = std::env::var("HYPERSONIC_DUMP_UNOPTIMIZED") {
        let _ = module.print_to_file(&path);
    }

    let pipeline = format!("default<O{}>", opts.opt_level.min(3));
    let pbo = PassBuilderOptions::create();
    pbo.set_loop_vectorization(opts.opt_level >= 2);
    pbo.set_loop_slp_vectorization(opts.opt_level >= 2);
    pbo.set_loop_unrolling(opts.opt_level >= 2);
    let shared = shared_machine(opt)?;
    let guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let r = module.run_passes(&pipeline, &guard.0, pbo);
    drop(guard);
    r.map_err(|e| CodegenError::Llvm(e.to_string()))?;
    let t2 = Instant::now();

    let optimized = module.clone();
    let engine = module
        .create_jit_execution_engine(opt)
        .map_err(|e| CodegenError::Llvm(e.to_string()))?;
    let addr = engine
        .get_function_address(&name)
        .map_err(|e| CodegenError::Llvm(format!("{name}: {e}")))?;
    if addr == 0 {
        return Err(CodegenError::Llvm(format!("{name} has no address")));
    }
    // SAFETY: `addr` is the JIT-compiled `i32 (ptr, ptr)` wrapper, whose C
    // signature is exactly `HostEntry`.
    let entry: HostEntry = unsafe { std::mem::transmute::<usize, HostEntry>(addr) };
    if std::env::var_os("HYPERSONIC_PERF_MAP").is_some() {
        write_perf_map(&engine, &optimized);
    }
    let t3 = Instant::now();
    Ok(HostModule {
        entry,
        name,
        times: CompileTimes {
            codegen: t1 - t0,
            optimize: t2 - t1,
            jit: t3 - t2,
        },
        llvm: Mutex::new(Llvm {
            optimized: ManuallyDrop::new(optimized),
            engine: ManuallyDrop::new(engine),
            jitted: ManuallyDrop::new(module),
            machine: ManuallyDrop::new(machine),
            context,
        }),
        ir_text: OnceLock::new(),
        asm_text: OnceLock::new(),
    })
}

/// Appends the module's functions to `/tmp/perf-<pid>.map`, where `perf
/// report` looks up the names of JIT-compiled code (`HYPERSONIC_PERF_MAP=1`;
/// for whoever profiles kernels). A function's size is taken as the distance
/// to the next one, so offsets within it can be matched to `inspect_cpu_asm`;
/// the module's last gets 16 KiB (its end is unknown here; a larger guess
/// would claim code the JIT places after it for later modules).
fn write_perf_map(engine: &inkwell::execution_engine::ExecutionEngine<'_>, module: &Module<'_>) {
    use std::io::Write;
    let mut found: Vec<(usize, String)> = module
        .get_functions()
        .filter(|f| f.count_basic_blocks() > 0)
        .filter_map(|f| {
            let name = f.get_name().to_str().ok()?.to_string();
            Some((engine.get_function_address(&name).ok()?, name))
        })
        .collect();
    found.sort();
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let Ok(mut out) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    for (k, (addr, name)) in found.iter().enumerate() {
        let size = found.get(k + 1).map_or(0x4000, |next| next.0 - addr);
        let _ = writeln!(out, "{addr:x} {size:x} {name}");
    }
}

impl HostModule {
    pub(crate) fn entry_fn(&self) -> HostEntry {
        self.entry
    }

    /// The symbol of the host entry point (`<name>__entry`).
    pub fn entry_name(&self) -> &str {
        &self.name
    }

    /// How long each compilation stage took.
    pub fn compile_times(&self) -> CompileTimes {
        self.times
    }

    /// The optimised LLVM IR, as text.
    pub fn llvm_ir(&self) -> String {
        self.ir_text
            .get_or_init(|| {
                let llvm = self.llvm.lock().unwrap_or_else(|e| e.into_inner());
                llvm.optimized.print_to_string().to_string()
            })
            .clone()
    }

    /// The native assembly, as text.
    pub fn asm(&self) -> String {
        self.asm_text
            .get_or_init(|| {
                let llvm = self.llvm.lock().unwrap_or_else(|e| e.into_inner());
                // Code generation mutates its input, so it works on a copy.
                let copy = llvm.optimized.clone();
                match llvm
                    .machine
                    .write_to_memory_buffer(&copy, FileType::Assembly)
                {
                    Ok(buf) => String::from_utf8_lossy(buf.as_slice()).into_owned(),
                    Err(e) => format!("; assembly unavailable: {e}"),
                }
            })
            .clone()
    }
}

/// Background threads inside LLVM (the warm-up), joined by
/// [`wait_for_background_compiles`].
static PENDING: Mutex<Vec<std::thread::JoinHandle<()>>> = Mutex::new(Vec::new());

pub(crate) fn track_background(handle: std::thread::JoinHandle<()>) {
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(handle);
}

/// Joins every background thread that may be inside LLVM, so that none is
/// running when the process exits and LLVM's global destructors run.
pub fn wait_for_background_compiles() {
    let handles = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    for h in handles {
        let _ = h.join();
    }
}
