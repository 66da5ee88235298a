//! Prints the kernels' instruction-set level the engine picks here (`POPBENCH_ISA` applied),
//! the widest this CPU runs, and what the AMX probe found:
//! `level avx512 best avx512 amx: not advertised`. `benches/vs-llamacpp` prints it beside its
//! figures.

use popbench_engine::kernels::Isa;

fn main() {
    println!(
        "level {} best {} {}",
        Isa::detect().name(),
        Isa::best().name(),
        popbench_engine::amx::probe().describe()
    );
}
