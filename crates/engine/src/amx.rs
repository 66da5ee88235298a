//! Whether Intel AMX tiles are really usable by this process.
//!
//! A CPU can advertise AMX (CPUID) while the system does not let a process use it: on Linux a
//! process must ask for the tile data state with `arch_prctl(ARCH_REQ_XCOMP_PERM,
//! XFEATURE_XTILEDATA)` before its first tile instruction, or that instruction faults (a
//! llama.cpp built with `-march=native` dies with SIGILL on `tilezero` on such machines). This
//! module asks, with a raw system call (the engine has no dependencies), and reports what it
//! found. The engine has no AMX kernels: the AVX-512 ones run whatever the answer, so a refusal
//! costs nothing; the answer is reported for provenance and for the day AMX kernels exist.

/// What [`probe`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amx {
    /// The CPU does not advertise AMX tiles with 8-bit products (or this is not x86-64 Linux).
    NotAdvertised,
    /// The CPU advertises AMX, but the operating system did not grant the tile data state.
    NotGranted,
    /// Advertised and granted: tile instructions may run in this process.
    Granted,
}

impl Amx {
    /// A short description for logs.
    pub fn describe(self) -> &'static str {
        match self {
            Amx::NotAdvertised => "amx: not advertised",
            Amx::NotGranted => "amx: advertised, not granted by the OS",
            Amx::Granted => "amx: granted",
        }
    }
}

/// Whether the CPU advertises AMX-TILE and AMX-INT8 (CPUID leaf 7, EDX bits 24 and 25).
pub fn advertised() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__cpuid, __cpuid_count};
        // SAFETY: CPUID exists on every x86-64 CPU; leaf 7 is read only when leaf 0 says the
        // CPU has it.
        #[allow(unused_unsafe)]
        let edx = unsafe {
            if __cpuid(0).eax < 7 {
                return false;
            }
            __cpuid_count(7, 0).edx
        };
        edx & (1 << 24) != 0 && edx & (1 << 25) != 0
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Asks the kernel for the AMX tile data state (`arch_prctl(ARCH_REQ_XCOMP_PERM,
/// XFEATURE_XTILEDATA)`); true when granted. Harmless where AMX is absent: the kernel answers
/// with an error.
pub fn request_tile_data() -> bool {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        const SYS_ARCH_PRCTL: isize = 158;
        const ARCH_REQ_XCOMP_PERM: usize = 0x1023;
        const XFEATURE_XTILEDATA: usize = 18;
        let ret: isize;
        // SAFETY: arch_prctl with ARCH_REQ_XCOMP_PERM only changes which extended states this
        // process may use; it reads and writes no memory of ours. `syscall` clobbers rcx and
        // r11, declared here.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") SYS_ARCH_PRCTL => ret,
                in("rdi") ARCH_REQ_XCOMP_PERM,
                in("rsi") XFEATURE_XTILEDATA,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret == 0
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        false
    }
}

/// Whether AMX is advertised and, if so, granted (asking the kernel once per call).
pub fn probe() -> Amx {
    if !advertised() {
        Amx::NotAdvertised
    } else if request_tile_data() {
        Amx::Granted
    } else {
        Amx::NotGranted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fallback: wherever the CPU does not advertise AMX, the kernel must refuse the tile
    /// state and the probe says so; wherever it does, the probe reports the kernel's own answer.
    /// Either way the kernels chosen are AVX-512 or narrower (there is no AMX level to fall
    /// from), so a refusal cannot lead to a tile instruction.
    #[test]
    fn the_probe_asks_the_kernel_and_falls_back_cleanly() {
        let p = probe();
        if advertised() {
            let granted = request_tile_data();
            assert_eq!(p == Amx::Granted, granted);
            eprintln!("this CPU advertises AMX; {}", p.describe());
        } else {
            assert_eq!(p, Amx::NotAdvertised);
            assert!(
                !request_tile_data(),
                "the kernel granted tile data on a CPU without AMX"
            );
            eprintln!("this CPU does not advertise AMX: the probe falls back");
        }
        let isa = crate::kernels::Isa::best();
        assert!(crate::kernels::Isa::all().contains(&isa));
    }
}
