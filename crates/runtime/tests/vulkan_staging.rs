//! Every Vulkan test again, with copies to and from the host going through
//! staging buffers and `vkCmdCopyBuffer` (`HYPERSONIC_VULKAN_STAGING=1`), as
//! on a discrete GPU whose memory the host cannot map: lavapipe's memory is
//! host-visible, so `vulkan.rs` alone only tests the `memcpy` path.

#[path = "vulkan.rs"]
mod vulkan;

use std::sync::Once;

fn before_vulkan() {
    static ONCE: Once = Once::new();
    // Before any device context exists: every test calls this first.
    ONCE.call_once(|| std::env::set_var("HYPERSONIC_VULKAN_STAGING", "1"));
}
