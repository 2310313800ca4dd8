//! The Vulkan device on Mesa's lavapipe (chosen explicitly: it is never the
//! default): listing and features, memory, launches of hand-written SPIR-V
//! (assembled with `spirv-as`), and IR kernels compiled by `hypersonic_spirv`
//! once that backend compiles them.
//!
//! Every test skips, saying why, only when there is no Vulkan device at all.
#![allow(clippy::needless_range_loop)]

use std::process::Command;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use hypersonic_ir::{Exception, Scalar};
use hypersonic_runtime::*;
use hypersonic_spirv::SpirvModule;
use hypersonic_testkit::device::{download, run_case, upload};
use hypersonic_testkit::{cases, kernels, Case, Rng};

/// Runs before the first use of a Vulkan device (`vulkan_staging.rs`, which
/// includes this file, sets the environment there).
#[allow(dead_code)]
fn before_vulkan() {}

/// The lavapipe device (else the first usable Vulkan device), or `None` with
/// the reason printed when there is no Vulkan device.
fn vk() -> Option<Arc<VulkanDevice>> {
    crate::before_vulkan();
    let devs = vulkan_devices();
    if devs.is_empty() {
        eprintln!(
            "skipping: no Vulkan device ({})",
            vulkan_unavailable_reason().unwrap_or_default()
        );
        return None;
    }
    let usable = || devs.iter().filter(|d| d.unusable_reason().is_none());
    let d = usable()
        .find(|d| d.features().device_type == VulkanDeviceType::Cpu)
        .or_else(|| usable().next())
        .expect("a usable Vulkan device")
        .clone();
    Some(d)
}

/// Kernel exceptions are reported by whichever synchronisation of the device
/// comes next, so tests that expect one run alone; the others share.
static SYNC: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    SYNC.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    SYNC.write().unwrap_or_else(|e| e.into_inner())
}

/// `let (d, _guard) = device!();` (or `device!(exclusive)`): the device, or
/// return from the test.
macro_rules! device {
    () => {
        device!(shared)
    };
    ($lock:ident) => {
        match vk() {
            Some(d) => (d, $lock()),
            None => return,
        }
    };
}

fn is_lavapipe(d: &VulkanDevice) -> bool {
    d.features().driver.contains("llvmpipe") || d.info().name.contains("llvmpipe")
}

// ---------------------------------------------------------------- hand-written SPIR-V

/// Assembles SPIR-V text for Vulkan 1.2 with `spirv-as`, checking it with
/// `spirv-val` when that is there.
fn assemble(text: &str) -> Vec<u32> {
    let dir = std::env::temp_dir();
    let tag = format!(
        "hypersonic-vk-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    )
    .replace(['(', ')'], "");
    let src = dir.join(format!("{tag}.spvasm"));
    let out = dir.join(format!("{tag}.spv"));
    std::fs::write(&src, text).unwrap();
    let r = Command::new("spirv-as")
        .args(["--target-env", "vulkan1.2", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .expect("spirv-as (Debian's spirv-tools) assembles the test shaders");
    assert!(
        r.status.success(),
        "spirv-as: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    if let Ok(v) = Command::new("spirv-val")
        .args(["--target-env", "vulkan1.2"])
        .arg(&out)
        .output()
    {
        assert!(
            v.status.success(),
            "spirv-val: {}",
            String::from_utf8_lossy(&v.stderr)
        );
    }
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&out);
    bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// `i = GlobalInvocationId.x; if i < n: c[i] = a[i] + b[i]; if a[i] < 0: *status = 1`
/// over float32, with slots `a, b, c, n` (addresses and a count) and the
/// status address after them: all in push constants, or (`in_push == false`)
/// the slots in a slot buffer whose address is push constant 0, the status
/// address push constant 1. The block size
/// comes from specialization constants 0, 1, 2.
fn vadd_f32_spirv(in_push: bool) -> Vec<u32> {
    fn push_slot(j: usize) -> String {
        format!("%sp{j} = OpAccessChain %u64_pc_ptr %pc %c{j}\n%s{j} = OpLoad %u64 %sp{j}\n")
    }
    fn buffer_slot(j: usize) -> String {
        if j == 4 {
            // The status word's address: the second push constant.
            return "%sp4 = OpAccessChain %u64_pc_ptr %pc %c1\n%s4 = OpLoad %u64 %sp4\n".into();
        }
        format!(
            "%sbp{j} = OpAccessChain %u64_pc_ptr %pc %c0\n\
             %sb{j} = OpLoad %u64 %sbp{j}\n\
             %sa{j} = OpIAdd %u64 %sb{j} %c8x{j}\n\
             %sq{j} = OpConvertUToPtr %u64_psb %sa{j}\n\
             %s{j} = OpLoad %u64 %sq{j} Aligned 8\n"
        )
    }
    // Slot j: a push constant, or the j-th u64 of the slot buffer.
    let (pc_members, pc_decor, slot): (&str, String, fn(usize) -> String) = if in_push {
        (
            "%u64 %u64 %u64 %u64 %u64",
            (0..5)
                .map(|i| format!("OpMemberDecorate %PC {i} Offset {}\n", 8 * i))
                .collect(),
            push_slot,
        )
    } else {
        (
            "%u64 %u64",
            "OpMemberDecorate %PC 0 Offset 0\nOpMemberDecorate %PC 1 Offset 8\n".to_string(),
            buffer_slot,
        )
    };
    format!(
        r#"
               OpCapability Shader
               OpCapability Int64
               OpCapability PhysicalStorageBufferAddresses
               OpExtension "SPV_KHR_physical_storage_buffer"
               OpMemoryModel PhysicalStorageBuffer64 GLSL450
               OpEntryPoint GLCompute %main "vadd" %gid %pc
               OpExecutionMode %main LocalSize 1 1 1
               OpDecorate %gid BuiltIn GlobalInvocationId
               OpDecorate %wgsize BuiltIn WorkgroupSize
               OpDecorate %sx SpecId 0
               OpDecorate %sy SpecId 1
               OpDecorate %sz SpecId 2
               OpDecorate %PC Block
               {pc_decor}
       %void = OpTypeVoid
       %fnty = OpTypeFunction %void
        %u32 = OpTypeInt 32 0
        %u64 = OpTypeInt 64 0
        %f32 = OpTypeFloat 32
       %bool = OpTypeBool
      %v3u32 = OpTypeVector %u32 3
         %sx = OpSpecConstant %u32 1
         %sy = OpSpecConstant %u32 1
         %sz = OpSpecConstant %u32 1
     %wgsize = OpSpecConstantComposite %v3u32 %sx %sy %sz
         %PC = OpTypeStruct {pc_members}
     %pc_ptr = OpTypePointer PushConstant %PC
         %pc = OpVariable %pc_ptr PushConstant
 %u64_pc_ptr = OpTypePointer PushConstant %u64
      %in_v3 = OpTypePointer Input %v3u32
        %gid = OpVariable %in_v3 Input
    %f32_psb = OpTypePointer PhysicalStorageBuffer %f32
    %u32_psb = OpTypePointer PhysicalStorageBuffer %u32
    %u64_psb = OpTypePointer PhysicalStorageBuffer %u64
         %c0 = OpConstant %u32 0
         %c1 = OpConstant %u32 1
         %c2 = OpConstant %u32 2
         %c3 = OpConstant %u32 3
         %c4 = OpConstant %u32 4
       %c8x0 = OpConstant %u64 0
       %c8x1 = OpConstant %u64 8
       %c8x2 = OpConstant %u64 16
       %c8x3 = OpConstant %u64 24
       %c8x4 = OpConstant %u64 32
       %four = OpConstant %u64 4
      %zerof = OpConstant %f32 0
       %main = OpFunction %void None %fnty
      %entry = OpLabel
          %g = OpLoad %v3u32 %gid
         %gx = OpCompositeExtract %u32 %g 0
          %i = OpUConvert %u64 %gx
{s3}
        %inb = OpULessThan %bool %i %s3
               OpSelectionMerge %end None
               OpBranchConditional %inb %body %end
       %body = OpLabel
{s0}{s1}{s2}
        %off = OpIMul %u64 %i %four
         %pa = OpIAdd %u64 %s0 %off
         %pb = OpIAdd %u64 %s1 %off
         %pc_ = OpIAdd %u64 %s2 %off
        %qa = OpConvertUToPtr %f32_psb %pa
        %qb = OpConvertUToPtr %f32_psb %pb
        %qc = OpConvertUToPtr %f32_psb %pc_
          %x = OpLoad %f32 %qa Aligned 4
          %y = OpLoad %f32 %qb Aligned 4
          %z = OpFAdd %f32 %x %y
               OpStore %qc %z Aligned 4
        %neg = OpFOrdLessThan %bool %x %zerof
               OpSelectionMerge %bend None
               OpBranchConditional %neg %raise %bend
      %raise = OpLabel
{s4}
         %qs = OpConvertUToPtr %u32_psb %s4
               OpStore %qs %c1 Aligned 4
               OpBranch %bend
       %bend = OpLabel
               OpBranch %end
        %end = OpLabel
               OpReturn
               OpFunctionEnd
"#,
        s0 = slot(0),
        s1 = slot(1),
        s2 = slot(2),
        s3 = slot(3),
        s4 = slot(4),
    )
    .pipe(|t| assemble(&t))
}

trait Pipe: Sized {
    fn pipe<R>(self, f: impl FnOnce(Self) -> R) -> R {
        f(self)
    }
}
impl<T> Pipe for T {}

fn negative_exception() -> Vec<Exception> {
    vec![Exception {
        class: "ValueError".into(),
        message: "negative input".into(),
    }]
}

fn vadd_f32_kernel(in_push: bool) -> Kernel {
    let mut m = SpirvModule::new(vadd_f32_spirv(in_push), "vadd", 4);
    if !in_push {
        m.slots_in_push_constants = false;
        m.push_constant_bytes = 16;
    }
    Kernel::from_images("vadd", 4, negative_exception(), None, None).with_spirv(m)
}

/// Runs the float32 vector add over `n` random elements in blocks of `tpb`
/// threads and checks it.
fn run_vadd_f32(d: &VulkanDevice, kernel: &Kernel, n: usize, tpb: u32, seed: u64) {
    let mut r = Rng::new(seed);
    let a: Vec<f32> = (0..n).map(|_| r.f64().abs() as f32 * 100.0).collect();
    let b: Vec<f32> = (0..n).map(|_| r.f64() as f32).collect();
    let (da, db) = (upload(d, &a), upload(d, &b));
    let dc = d.alloc(n * 4).unwrap();
    d.memset(&dc, 0, n * 4, 0, None).unwrap();
    let args = [da.addr(), db.addr(), dc.addr(), n as u64];
    let grid = (n as u32).div_ceil(tpb);
    // SAFETY: three live buffers of n float32 each.
    unsafe {
        d.launch(kernel, &LaunchConfig::linear(grid, tpb), &args, None)
            .unwrap()
    };
    d.synchronize().unwrap();
    let c: Vec<f32> = download(d, &dc, n);
    for i in 0..n {
        assert_eq!(c[i], a[i] + b[i], "element {i} of {n} (blocks of {tpb})");
    }
}

// ---------------------------------------------------------------- listing

#[test]
fn lists_devices_with_features_and_limits() {
    let (d, _guard) = device!();
    let info = d.info();
    assert_eq!(info.id.kind, DeviceKind::Vulkan);
    assert!(!info.name.is_empty());
    assert_eq!(info.limits.warp_size, 32);
    assert!(info.limits.max_threads_per_block >= 128);
    assert!(info.limits.max_shared_memory_per_block >= 16 * 1024);
    assert!(info.limits.max_grid_dim[0] >= i32::MAX as u32);
    let f = d.features();
    assert!(f.buffer_device_address && f.timeline_semaphore);
    assert!(f.api_version >= (1, 2, 0));
    assert!(d.unusable_reason().is_none());
    if is_lavapipe(&d) {
        assert_eq!(f.device_type, VulkanDeviceType::Cpu);
        assert!(f.float64 && f.int64 && f.vulkan_memory_model, "{f:#?}");
        assert_eq!(f.subgroup_size, 8);
        assert!(f.host_visible_device_memory);
        assert!(f.max_push_constant_bytes >= 128);
        assert_eq!(info.limits.max_block_dim, [1024, 1024, 1024]);
    }
    let o = d.spirv_options();
    assert_eq!(o.subgroup_size, f.subgroup_size);
    assert_eq!(o.float64, f.float64);
    assert_eq!(o.max_push_constant_bytes, f.max_push_constant_bytes);

    // Listed by `devices()`: Vulkan GPUs before the CPU, lavapipe after it.
    let all = devices();
    let pos = |id: DeviceId| all.iter().position(|x| x.id() == id).unwrap();
    let cpu = pos(cpu_device().id());
    for v in vulkan_devices() {
        let p = pos(v.id());
        if v.features().device_type.is_gpu() && v.unusable_reason().is_none() {
            assert!(p < cpu, "{:?} before the CPU", v.info().name);
        } else {
            assert!(p > cpu, "{:?} after the CPU", v.info().name);
        }
    }
    // Named explicitly.
    let n = info.id.index;
    assert_eq!(
        device_from_spec(&format!("vulkan:{n}")).unwrap().id(),
        info.id
    );
    assert_eq!(
        device_from_spec(" Vulkan ").unwrap().id(),
        vulkan_devices()[0].id()
    );
    let e = device_from_spec("vulkan:99").unwrap_err().to_string();
    assert!(e.contains("no Vulkan device 99"), "{e}");
    let e = device_from_spec("vulkan:x").unwrap_err().to_string();
    assert!(e.contains("vulkan:N"), "{e}");
    // Lavapipe is never the default.
    if std::env::var("HYPERSONIC_DEVICE").is_err() && is_lavapipe(&d) {
        assert_ne!(default_device().unwrap().id(), info.id);
    }
    assert!(vulkan_available());
    assert_eq!(vulkan_unavailable_reason(), None);
}

// ---------------------------------------------------------------- memory

#[test]
fn memory_round_trips_with_offsets() {
    let (d, _guard) = device!();
    let mut r = Rng::new(7);
    let staged = std::env::var("HYPERSONIC_VULKAN_STAGING").is_ok_and(|v| v == "1")
        || !d.features().host_visible_device_memory;
    let mut live = Vec::new();
    for &n in &[0usize, 1, 3, 17, 256, 1000, 65_537, 1 << 20, 40 << 20] {
        let b = d.alloc(n).unwrap();
        assert_eq!(b.size(), n);
        assert_eq!(b.device(), d.id());
        assert_eq!(b.addr() % 256, 0, "aligned");
        assert_ne!(b.addr(), 0);
        let data = r.bytes(n);
        let before = d.stats().submissions;
        d.copy_htod(&b, 0, &data, None).unwrap();
        if staged && n > 0 {
            assert!(d.stats().submissions > before, "copied through staging");
        }
        let mut back = vec![0u8; n];
        d.copy_dtoh(&mut back, &b, 0, None).unwrap();
        assert!(back == data, "{n} bytes");
        if n >= 17 {
            // Partial copies at odd offsets.
            let part = r.bytes(n / 3);
            let off = n / 2 - 1;
            let off = off.min(n - part.len());
            d.copy_htod(&b, off, &part, None).unwrap();
            let mut want = data.clone();
            want[off..off + part.len()].copy_from_slice(&part);
            let mut back = vec![0u8; n - 5];
            d.copy_dtoh(&mut back, &b, 5, None).unwrap();
            assert!(back == want[5..], "{n} bytes at offsets");
        }
        live.push(b);
    }
    // Live buffers do not overlap.
    let mut ranges: Vec<(u64, u64)> = live
        .iter()
        .map(|b| (b.addr(), b.addr() + b.size() as u64))
        .collect();
    ranges.sort();
    for w in ranges.windows(2) {
        assert!(w[0].1 <= w[1].0, "{w:?}");
    }

    // Out of range, other devices' buffers, foreign memory.
    let b = d.alloc(16).unwrap();
    let e = d.copy_htod(&b, 10, &[0; 7], None).unwrap_err();
    assert!(matches!(e, RuntimeError::InvalidMemory(_)), "{e}");
    let mut out = [0u8; 4];
    let e = d.copy_dtoh(&mut out, &b, 13, None).unwrap_err();
    assert!(matches!(e, RuntimeError::InvalidMemory(_)), "{e}");
    let host = cpu_device().alloc(16).unwrap();
    let e = d.copy_dtoh(&mut out, &host, 0, None).unwrap_err();
    assert!(e.to_string().contains("lives on cpu"), "{e}");
    // SAFETY: refused before the address is used.
    let e = unsafe { d.wrap_foreign(b.addr(), 16) }.unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot use memory allocated elsewhere"),
        "{e}"
    );
}

#[test]
fn freed_memory_is_reused() {
    // Alone: memory freed while others' work is queued returns to the pool later.
    let (d, _guard) = device!(exclusive);
    d.synchronize().unwrap();
    let a = d.alloc(1000).unwrap().addr();
    let b = d.alloc(1000).unwrap().addr();
    assert_eq!(a, b, "the pool hands the freed range out again");
    let big = d.alloc(100 << 20).unwrap();
    let addr = big.addr();
    drop(big);
    let again = d.alloc(100 << 20).unwrap();
    assert_eq!(again.size(), 100 << 20);
    let _ = addr; // a dedicated block: freed, maybe mapped elsewhere
}

#[test]
fn device_to_device_copies_and_memset() {
    let (d, _guard) = device!();
    let mut r = Rng::new(3);
    let n = 100_003;
    let data = r.bytes(n);
    let a = upload(&*d, &data);
    let b = d.alloc(n).unwrap();
    d.memset(&b, 0, n, 0xab, None).unwrap();
    d.copy_dtod(&b, 1, &a, 7, 5000, None).unwrap();
    let mut want = vec![0xabu8; n];
    want[1..5001].copy_from_slice(&data[7..5007]);
    assert!(download::<u8>(&*d, &b, n) == want);
    // Overlapping ranges of one buffer.
    d.copy_dtod(&a, 10, &a, 0, 1000, None).unwrap();
    let mut want_a = data.clone();
    want_a.copy_within(0..1000, 10);
    assert!(download::<u8>(&*d, &a, n) == want_a);
    // Memsets at every alignment of start and length.
    let c = d.alloc(64).unwrap();
    for start in 0..6 {
        for len in 0..10 {
            d.memset(&c, 0, 64, 0, None).unwrap();
            d.memset(&c, start, len, 0x5a, None).unwrap();
            let got = download::<u8>(&*d, &c, 64);
            for i in 0..64 {
                let want = if (start..start + len).contains(&i) {
                    0x5a
                } else {
                    0
                };
                assert_eq!(got[i], want, "memset({start}, {len}) byte {i}");
            }
        }
    }
    let e = d.memset(&c, 60, 5, 0, None).unwrap_err();
    assert!(matches!(e, RuntimeError::InvalidMemory(_)), "{e}");
    let e = d.copy_dtod(&c, 0, &a, n - 2, 4, None).unwrap_err();
    assert!(matches!(e, RuntimeError::InvalidMemory(_)), "{e}");
}

// ---------------------------------------------------------------- launches

#[test]
fn hand_written_vector_add_from_push_constants() {
    let (d, _guard) = device!();
    let kernel = vadd_f32_kernel(true);
    for (n, tpb) in [(1usize, 1u32), (1000, 64), (100_003, 256), (4096, 1024)] {
        run_vadd_f32(&d, &kernel, n, tpb, n as u64);
    }
}

#[test]
fn hand_written_vector_add_from_a_slot_buffer() {
    let (d, _guard) = device!();
    let kernel = vadd_f32_kernel(false);
    for (n, tpb) in [(1000usize, 32u32), (33_333, 128)] {
        run_vadd_f32(&d, &kernel, n, tpb, 5 + n as u64);
    }
}

#[test]
fn grid_larger_than_a_dispatch_is_split() {
    let (d, _guard) = device!();
    let max = d.features().max_workgroup_count[0] as usize;
    if max > 1 << 20 {
        eprintln!("skipping: this device dispatches {max} blocks at once");
        return;
    }
    // One thread per block: more blocks than one dispatch may have.
    run_vadd_f32(&d, &vadd_f32_kernel(true), max + 1234, 1, 42);
    // A hand-written module that reads `NumWorkgroups` (the vector add with its
    // `GlobalInvocationId` decoration turned into that) cannot be split.
    let mut words = vadd_f32_spirv(true);
    let mut i = 5;
    while i < words.len() {
        let (count, op) = ((words[i] >> 16) as usize, words[i] & 0xffff);
        if op == 71 && count == 4 && words[i + 2] == 11 && words[i + 3] == 28 {
            words[i + 3] = 24;
        }
        i += count;
    }
    let k = Kernel::from_images("nwg", 4, vec![], None, None)
        .with_spirv(SpirvModule::new(words, "vadd", 4));
    let b = d.alloc(16).unwrap();
    let args = [b.addr(), b.addr(), b.addr(), 0];
    // SAFETY: refused before launching.
    let e =
        unsafe { d.launch(&k, &LaunchConfig::linear(max as u32 + 1, 1), &args, None) }.unwrap_err();
    assert!(matches!(e, RuntimeError::InvalidLaunch(_)), "{e}");
    assert!(e.to_string().contains("reads the grid size"), "{e}");
}

#[test]
fn pipelines_are_cached_per_block_shape() {
    let (d, _guard) = device!();
    let kernel = vadd_f32_kernel(true);
    let s0 = d.stats();
    d.prepare(&kernel).unwrap();
    let s1 = d.stats();
    assert_eq!(s1.shader_modules, s0.shader_modules + 1);
    assert_eq!(
        s1.pipelines, s0.pipelines,
        "prepare knows no block shape yet"
    );
    run_vadd_f32(&d, &kernel, 500, 64, 1);
    run_vadd_f32(&d, &kernel, 700, 64, 2);
    let s2 = d.stats();
    assert_eq!(
        s2.shader_modules, s1.shader_modules,
        "no second shader module"
    );
    assert_eq!(
        s2.pipelines,
        s1.pipelines + 1,
        "one pipeline for blocks of 64"
    );
    run_vadd_f32(&d, &kernel, 700, 128, 3);
    assert_eq!(
        d.stats().pipelines,
        s2.pipelines + 1,
        "another for blocks of 128"
    );
    run_vadd_f32(&d, &kernel, 900, 128, 4);
    assert_eq!(d.stats().pipelines, s2.pipelines + 1);
    assert!(d.stats().submissions > s0.submissions);
}

#[test]
fn kernel_raised_at_the_next_synchronisation() {
    let (d, _guard) = device!(exclusive);
    let kernel = vadd_f32_kernel(true);
    let n = 1000;
    let mut a = vec![1.0f32; n];
    a[777] = -2.0;
    let b = vec![0.5f32; n];
    let (da, db, dc) = (upload(&*d, &a), upload(&*d, &b), d.alloc(n * 4).unwrap());
    let args = [da.addr(), db.addr(), dc.addr(), n as u64];
    // SAFETY: live buffers of n float32.
    unsafe { d.launch(&kernel, &LaunchConfig::linear(8, 128), &args, None) }.unwrap();
    let e = d.synchronize().unwrap_err();
    match &e {
        RuntimeError::KernelRaised {
            kernel,
            status,
            exception,
        } => {
            assert_eq!(kernel, "vadd");
            assert_eq!(*status, 1);
            assert_eq!(exception.as_ref().unwrap().class, "ValueError");
        }
        e => panic!("{e}"),
    }
    assert_eq!(
        e.to_string(),
        "kernel `vadd` raised ValueError: negative input"
    );
    // Reported once; the results are there.
    d.synchronize().unwrap();
    let c: Vec<f32> = download(&*d, &dc, n);
    assert_eq!(c[777], -1.5);
    // Reported by a copy to the host too, and on a stream.
    let s = d.create_stream().unwrap();
    // SAFETY: as above.
    unsafe { d.launch(&kernel, &LaunchConfig::linear(8, 128), &args, Some(&s)) }.unwrap();
    let mut out = vec![0u8; 4];
    let e = d.copy_dtoh(&mut out, &dc, 0, Some(&s)).unwrap_err();
    assert!(
        matches!(e, RuntimeError::KernelRaised { status: 1, .. }),
        "{e}"
    );
    // SAFETY: as above.
    unsafe { d.launch(&kernel, &LaunchConfig::linear(8, 128), &args, Some(&s)) }.unwrap();
    let e = d.stream_synchronize(&s).unwrap_err();
    assert!(matches!(e, RuntimeError::KernelRaised { .. }), "{e}");
    d.synchronize().unwrap();
}

#[test]
fn launch_configurations_are_checked() {
    let (d, _guard) = device!();
    let kernel = vadd_f32_kernel(true);
    let buf = d.alloc(64).unwrap();
    let args = [buf.addr(), buf.addr(), buf.addr(), 0];
    let limits = d.info().limits.clone();
    let launch = |config: LaunchConfig, args: &[u64]| {
        // SAFETY: n = 0: the kernel touches no memory.
        unsafe { d.launch(&kernel, &config, args, None) }.unwrap_err()
    };
    let e = launch(LaunchConfig::linear(0, 32), &args);
    assert!(e.to_string().contains("grid dimension x is 0"), "{e}");
    let e = launch(
        LaunchConfig::linear(1, limits.max_threads_per_block + 1),
        &args,
    );
    assert!(matches!(e, RuntimeError::InvalidLaunch(_)), "{e}");
    assert!(e.to_string().contains("a block may have at most"), "{e}");
    let e = launch(
        LaunchConfig {
            grid: [1, 1, 1],
            block: [1, 1, limits.max_block_dim[2] + 1],
            dynamic_shared_bytes: 0,
        },
        &args,
    );
    assert!(matches!(e, RuntimeError::InvalidLaunch(_)), "{e}");
    let e = launch(
        LaunchConfig {
            grid: [1, 1, 1],
            block: [32, 1, 1],
            dynamic_shared_bytes: limits.max_shared_memory_per_block + 1,
        },
        &args,
    );
    assert!(
        e.to_string().contains("bytes of shared memory per block"),
        "{e}"
    );
    let e = launch(
        LaunchConfig {
            grid: [1, limits.max_grid_dim[1] + 1, 1],
            block: [32, 1, 1],
            dynamic_shared_bytes: 0,
        },
        &args,
    );
    assert!(e.to_string().contains("grid dimension y"), "{e}");
    let e = launch(LaunchConfig::linear(1, 32), &args[..3]);
    assert!(
        e.to_string().contains("takes 4 argument slots, but 3"),
        "{e}"
    );
    // A stream of another device.
    let s = cpu_device().create_stream().unwrap();
    // SAFETY: refused before launching.
    let e = unsafe { d.launch(&kernel, &LaunchConfig::linear(1, 1), &args, Some(&s)) }.unwrap_err();
    assert!(matches!(e, RuntimeError::InvalidOperation(_)), "{e}");
    // A kernel with no SPIR-V.
    let k = Kernel::from_images("nothing", 0, vec![], None, None);
    // SAFETY: refused before launching.
    let e = unsafe { d.launch(&k, &LaunchConfig::linear(1, 1), &[], None) }.unwrap_err();
    assert!(matches!(e, RuntimeError::Compile { .. }), "{e}");
    // Bad SPIR-V is the driver's error, not a crash.
    let k = Kernel::from_images("bad", 0, vec![], None, None).with_spirv(SpirvModule::new(
        vec![0x0723_0203, 0x0001_0500, 0, 1, 0],
        "bad",
        0,
    ));
    let _ = d.prepare(&k); // lavapipe may accept an empty module
                           // A module needing a feature the device lacks is refused by name.
    let mut m = SpirvModule::new(vadd_f32_spirv(true), "vadd", 4);
    m.required_features
        .push("shaderBufferFloat64AtomicAdd".into());
    let k = Kernel::from_images("needy", 4, vec![], None, None).with_spirv(m);
    if !d.features().atomic_float64_add {
        let e = d.prepare(&k).unwrap_err().to_string();
        assert!(e.contains("lacks shaderBufferFloat64AtomicAdd"), "{e}");
    }
}

#[test]
fn streams_and_events() {
    let (d, _guard) = device!();
    let kernel = vadd_f32_kernel(true);
    let n = 1 << 16;
    let a = upload(&*d, &vec![1.0f32; n]);
    let b = upload(&*d, &vec![2.0f32; n]);
    let c = d.alloc(n * 4).unwrap();
    let s = d.create_stream().unwrap();
    let (e0, e1) = (d.create_event().unwrap(), d.create_event().unwrap());
    assert!(
        d.event_query(&e0).unwrap(),
        "a never-recorded event has completed"
    );
    let e = d.event_elapsed_ms(&e0, &e1).unwrap_err();
    assert!(matches!(e, RuntimeError::InvalidOperation(_)), "{e}");
    d.record_event(&e0, Some(&s)).unwrap();
    for _ in 0..5 {
        // SAFETY: live buffers of n float32.
        unsafe {
            d.launch(
                &kernel,
                &LaunchConfig::linear(n as u32 / 256, 256),
                &[a.addr(), b.addr(), c.addr(), n as u64],
                Some(&s),
            )
        }
        .unwrap();
    }
    d.record_event(&e1, Some(&s)).unwrap();
    d.event_synchronize(&e1).unwrap();
    assert!(d.event_query(&e1).unwrap());
    let ms = d.event_elapsed_ms(&e0, &e1).unwrap();
    assert!((0.0..60_000.0).contains(&ms), "{ms}");
    d.stream_synchronize(&s).unwrap();
    let got: Vec<f32> = download(&*d, &c, n);
    assert!(got.iter().all(|&x| x == 3.0));
    // Streams and events of other devices are refused.
    let ce = cpu_device().create_event().unwrap();
    assert!(d.record_event(&ce, None).is_err());
    assert!(d
        .stream_synchronize(&cpu_device().create_stream().unwrap())
        .is_err());
}

#[test]
fn buffers_freed_while_work_is_queued_stay_valid_until_it_completes() {
    let (d, _guard) = device!();
    let kernel = vadd_f32_kernel(true);
    let n = 1 << 18;
    let c = d.alloc(n * 4).unwrap();
    for round in 0..4 {
        let a = upload(&*d, &vec![round as f32; n]);
        let b = upload(&*d, &vec![1.0f32; n]);
        // SAFETY: live buffers of n float32 (kept until the launch completes
        // by the runtime, though dropped here).
        unsafe {
            d.launch(
                &kernel,
                &LaunchConfig::linear(n as u32 / 128, 128),
                &[a.addr(), b.addr(), c.addr(), n as u64],
                None,
            )
        }
        .unwrap();
        drop((a, b));
        // New buffers may not take the queued kernel's inputs yet.
        let x = upload(&*d, &vec![-7.0f32; n]);
        let y = upload(&*d, &vec![-7.0f32; n]);
        drop((x, y));
        let got: Vec<f32> = download(&*d, &c, n);
        assert!(
            got.iter().all(|&v| v == round as f32 + 1.0),
            "round {round}"
        );
    }
}

// ---------------------------------------------------------------- IR kernels

/// Whether the SPIR-V backend compiles kernels yet; prints why not.
fn spirv_backend_ready(d: &VulkanDevice) -> bool {
    let k = Kernel::new(kernels::vecadd(Scalar::F64));
    match k.spirv(&d.spirv_options()) {
        Ok(_) => true,
        Err(e) if e.to_string().contains("not yet") => {
            eprintln!("skipping: the SPIR-V backend compiles no kernels yet ({e})");
            false
        }
        Err(e) => panic!("{e}"),
    }
}

/// Runs a case of the kernel suite on the Vulkan device (alone when it
/// raises: exceptions are reported by the next synchronisation).
fn on_vulkan(case: Case) {
    let Some(d) = vk() else { return };
    let (_shared, _alone);
    if case.runs.iter().any(|r| r.raises.is_some()) {
        _alone = exclusive();
    } else {
        _shared = shared();
    }
    if !spirv_backend_ready(&d) {
        return;
    }
    run_case(&*d, &case);
}

/// The kernel suite of `hypersonic-testkit`, compiled to SPIR-V and run on
/// the device: integer semantics, float64 math through the shared math
/// library, 32-lane warps emulated on lavapipe's 8-lane subgroups, atomics,
/// local/const/dynamic shared arrays, exceptions, 2-D grids.
mod suite {
    hypersonic_testkit::suite!(super::on_vulkan);
}

/// `for i in range(cuda.grid(1), n, cuda.gridsize(1)): out[i] += 2 * a[i]`
/// over a grid larger than one dispatch (lavapipe: 65535 blocks along x),
/// which the runtime splits: `gridDim` comes from the push constants, so each
/// element is visited exactly once.
#[test]
fn ir_grid_stride_loop_over_split_grids() {
    let (d, _guard) = device!();
    let max = d.features().max_workgroup_count[0];
    if max >= 200_000 {
        eprintln!("skipping: this device dispatches {max} blocks at once");
        return;
    }
    run_case(&*d, &cases::grid_stride_over(&[(max + 1, 1)]));
}

#[test]
fn ir_kernel_compiled_once_per_device() {
    let (d, _guard) = device!();
    if !spirv_backend_ready(&d) {
        return;
    }
    let kernel = Kernel::new(kernels::vecadd(Scalar::F64));
    let opts = d.spirv_options();
    let m = kernel.spirv(&opts).unwrap();
    assert!(Arc::ptr_eq(&m, &kernel.spirv(&opts).unwrap()), "cached");
    assert_eq!(m.param_slots, kernel.param_slots());
    let before = d.stats();
    d.prepare(&kernel).unwrap();
    d.prepare(&kernel).unwrap();
    assert_eq!(d.stats().shader_modules, before.shader_modules + 1);
}

// ---------------------------------------------------------------- timings

/// Launch overhead and a 1M-element vector add (printed; run with
/// `--nocapture` to see them).
#[test]
fn timings() {
    let (d, _guard) = device!();
    let kernel = vadd_f32_kernel(true);
    let n = 1 << 20;
    let a = upload(&*d, &vec![1.0f32; n]);
    let b = upload(&*d, &vec![2.0f32; n]);
    let c = d.alloc(n * 4).unwrap();
    let run = |count: u64, n: u64, tpb: u32| {
        let grid = (n as u32).div_ceil(tpb).max(1);
        for _ in 0..count {
            // SAFETY: live buffers of at least n float32.
            unsafe {
                d.launch(
                    &kernel,
                    &LaunchConfig::linear(grid, tpb),
                    &[a.addr(), b.addr(), c.addr(), n],
                    None,
                )
            }
            .unwrap();
        }
        d.synchronize().unwrap();
    };
    run(3, n as u64, 256); // warm: pipelines
    run(3, 1, 32);
    let reps = 200;
    let t = Instant::now();
    for _ in 0..reps {
        run(1, 1, 32);
    }
    let sync_launch = t.elapsed().as_secs_f64() / reps as f64;
    let t = Instant::now();
    run(reps, 1, 32);
    let queued = t.elapsed().as_secs_f64() / reps as f64;
    eprintln!(
        "{} ({}): launch + synchronize {:.1} us; queued launch {:.1} us",
        d.info().id,
        d.info().name,
        sync_launch * 1e6,
        queued * 1e6,
    );
    for tpb in [64, 256, 1024] {
        run(1, n as u64, tpb);
        let reps = 10;
        let t = Instant::now();
        for _ in 0..reps {
            run(1, n as u64, tpb);
        }
        let vadd = t.elapsed().as_secs_f64() / reps as f64;
        eprintln!(
            "  1M-element float32 vector add, blocks of {tpb}: {:.2} ms ({:.2} GB/s)",
            vadd * 1e3,
            12.0 * n as f64 / vadd / 1e9
        );
    }
    let got: Vec<f32> = download(&*d, &c, n);
    assert!(got.iter().all(|&x| x == 3.0));
}

/// The IR float64 vector add over 1M elements on lavapipe and on the CPU
/// device (printed; run with `--nocapture`).
#[test]
fn ir_vector_add_timing_against_the_cpu_device() {
    let (d, _guard) = device!();
    if !spirv_backend_ready(&d) {
        return;
    }
    let n = 1 << 20;
    let kernel = Kernel::new(kernels::vecadd(Scalar::F64));
    let a: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let cpu = cpu_device();
    let devices: Vec<Arc<dyn Device>> = vec![d.clone(), cpu];
    for dev in devices {
        if dev.prepare(&kernel).is_err() {
            continue; // no CPU SIMT lowering in this build
        }
        let (da, db) = (upload(&*dev, &a), upload(&*dev, &a));
        let dc = dev.alloc(n * 8).unwrap();
        let mut args = KernelArgs::new();
        for b in [&da, &db, &dc] {
            args.contiguous_array(b.addr(), &[n as i64], 8);
        }
        let run = || {
            // SAFETY: three live arrays of n float64.
            unsafe {
                dev.launch(
                    &kernel,
                    &LaunchConfig::linear(n as u32 / 256, 256),
                    args.as_slice(),
                    None,
                )
            }
            .unwrap();
            dev.synchronize().unwrap();
        };
        run();
        let reps = 10;
        let t = Instant::now();
        for _ in 0..reps {
            run();
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        eprintln!(
            "IR float64 vector add, 1M elements, on {} ({}): {:.2} ms",
            dev.id(),
            dev.info().name,
            s * 1e3
        );
        let c: Vec<f64> = download(&*dev, &dc, n);
        assert!(c.iter().enumerate().all(|(i, &x)| x == 2.0 * i as f64));
    }
}
