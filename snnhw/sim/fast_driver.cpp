// Free-running Verilator driver of the snnhw accelerator (docs/semantics.md, "Ports and
// readout map"): the host protocol of snnhw/sim/tb.py, cycle for cycle, without cocotb.
//
// Built by snnhw/sim/fast.py (`verilator --cc --exe --prefix Vdut`, then make); run as
//
//   sim +inputs=F +results=F +images=N +n_inputs=N +depth=D +stream=0|1 +max_cycles=N
//       [+load=F +load_words=N]
//
// SNNHW_LOAD_PORT is defined iff the core has the weight-load port: it is held idle through
// reset and then, if +load_words > 0, takes those words before the first image.
//
// Inputs: hex words, one a line (input codes, image after image; load words). Results: one
// line per image, "<cycle stamp> <register 0> ... <register D-1>" (decimal int32; the stamp
// counts clock edges from the first image's start), then "end"; or a line "error: ...".
//
// Timing model. Every cycle is one "timestep" after a rising edge: first the host's writes
// (cocotb: assignments after `await RisingEdge`), then the settled outputs are observed
// (cocotb: `await ReadOnly()`), then the next rising edge. The design is clocked on the rising
// edge only, so the writes are applied with clk low, and one eval settles them.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "Vdut.h"
#include "verilated.h"

namespace {

std::FILE* g_results = nullptr;

[[noreturn]] void fail(const std::string& message) {
    if (g_results) {
        std::fprintf(g_results, "\nerror: %s\n", message.c_str());
        std::fclose(g_results);
    }
    std::fprintf(stderr, "error: %s\n", message.c_str());
    std::exit(2);
}

std::map<std::string, std::string> plusargs(int argc, char** argv) {
    std::map<std::string, std::string> out;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        size_t eq = arg.find('=');
        if (arg.size() < 2 || arg[0] != '+' || eq == std::string::npos)
            fail("bad argument '" + arg + "' (expected +name=value)");
        out[arg.substr(1, eq - 1)] = arg.substr(eq + 1);
    }
    return out;
}

std::string need(const std::map<std::string, std::string>& args, const std::string& name) {
    auto it = args.find(name);
    if (it == args.end()) fail("missing argument +" + name + "=...");
    return it->second;
}

long number(const std::map<std::string, std::string>& args, const std::string& name) {
    return std::strtol(need(args, name).c_str(), nullptr, 10);
}

std::vector<uint32_t> read_hex(const std::string& path, long count) {
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (!f) fail("cannot open " + path);
    std::vector<uint32_t> words(count);
    for (long i = 0; i < count; ++i) {
        unsigned int w;
        if (std::fscanf(f, "%x", &w) != 1) fail(path + ": fewer than " + std::to_string(count) + " words");
        words[i] = w;
    }
    std::fclose(f);
    return words;
}

// The design under test and its clock.
class Bench {
  public:
    Bench(VerilatedContext* context) : dut(new Vdut{context}) {}
    ~Bench() { dut->final(); }

    std::unique_ptr<Vdut> dut;
    uint64_t now = 0;    // rising edges so far

    // Apply this timestep's writes and settle (clk low: no edge).
    void settle() { dut->clk = 0; dut->eval(); }
    void edge() { dut->clk = 1; dut->eval(); ++now; }

    // tb.py AcceleratorTB.reset: rst high for three edges, low at the fourth.
    void reset() {
        dut->in_valid = 0; dut->in_data = 0; dut->ack = 0; dut->rd_addr = 0; dut->rst = 1;
#ifdef SNNHW_LOAD_PORT
        dut->load_valid = 0; dut->load_data = 0;
#endif
        for (int i = 0; i < 3; ++i) { settle(); edge(); }
        dut->rst = 0;
        settle(); edge();
    }
};

#ifdef SNNHW_LOAD_PORT
// tb.py AcceleratorTB.load: every word over load_valid/load_ready, one per accepted cycle.
void load(Bench& b, const std::vector<uint32_t>& words, long max_cycles) {
    for (size_t i = 0; i < words.size(); ++i) {
        for (long waited = 0;; ++waited) {
            b.dut->load_valid = 1;
            b.dut->load_data = words[i];
            b.settle();
            bool ready = b.dut->load_ready;
            if (!ready && waited >= max_cycles)
                fail("load word " + std::to_string(i) + ": not accepted within " +
                     std::to_string(max_cycles) + " cycles");
            b.edge();
            if (ready) break;
        }
    }
    b.dut->load_valid = 0;
}
#endif

// The images' input codes over in_valid/in_ready (tb.py AcceleratorTB.send, image after image).
struct Producer {
    const std::vector<uint32_t>& codes;
    long n_inputs, images, max_cycles;
    long image = 0, word = 0, waited = 0;
    bool driving = false;

    // `allowed`: images that may be sent so far (sequential: one after each acknowledged result).
    void write(Vdut* dut, long allowed) {
        driving = image < images && image < allowed;
        dut->in_valid = driving;
        if (driving) dut->in_data = codes[image * n_inputs + word];
    }
    void observe(Vdut* dut) {
        if (!driving) return;
        if (!dut->in_ready) {
            if (waited++ >= max_cycles)
                fail("image " + std::to_string(image) + ": input not accepted within " +
                     std::to_string(max_cycles) + " cycles");
            return;
        }
        waited = 0;    // transferred at the next edge
        if (++word == n_inputs) { word = 0; ++image; }
    }
};

// Waits for each result, reads its registers, acknowledges it (tb.py AcceleratorTB.receive).
struct Consumer {
    enum State { CHECK, READ_SET, READ_GET, ACK_HIGH, ACK_LOW };
    long depth, images, max_cycles;
    long image = 0, addr = 0;
    State state = CHECK;
    bool waiting = false;
    uint64_t wait_from = 0, finished = 0;
    std::vector<int32_t> regs;
    std::vector<std::pair<uint64_t, std::vector<int32_t>>> results;

    bool complete() const { return image == images; }

    void write(Vdut* dut) {
        switch (state) {
            case READ_SET: dut->rd_addr = addr; break;
            case ACK_HIGH: dut->ack = 1; break;
            case ACK_LOW:  // the result is taken; the next receive starts in this timestep
                dut->ack = 0;
                results.emplace_back(finished, regs);
                ++image;
                state = CHECK;
                break;
            default: break;
        }
    }
    // `sent`: images whose inputs have all been transferred (sequential: wait for them).
    void observe(Vdut* dut, uint64_t now, long sent) {
        switch (state) {
            case CHECK:
                if (complete() || sent <= image) return;
                if (!waiting) {
                    waiting = true;
                    wait_from = now;
                } else if (now - wait_from >= uint64_t(max_cycles)) {
                    // at the same edge as `done`, cocotb's timeout trigger fires first
                    fail("image " + std::to_string(image) + ": no result within " +
                         std::to_string(max_cycles) + " cycles");
                }
                if (dut->done) {
                    waiting = false;
                    finished = now;
                    regs.clear();
                    addr = 0;
                    state = READ_SET;
                }
                return;
            case READ_SET: state = READ_GET; return;
            case READ_GET:
                regs.push_back(int32_t(dut->rd_data));
                state = ++addr < depth ? READ_SET : ACK_HIGH;
                return;
            case ACK_HIGH: state = ACK_LOW; return;
            default: return;
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    auto args = plusargs(argc, argv);
    long images = number(args, "images"), n_inputs = number(args, "n_inputs");
    long depth = number(args, "depth"), max_cycles = number(args, "max_cycles");
    bool stream = number(args, "stream") != 0;
    std::vector<uint32_t> codes = read_hex(need(args, "inputs"), images * n_inputs);
    g_results = std::fopen(need(args, "results").c_str(), "w");
    if (!g_results) fail("cannot write " + need(args, "results"));

    auto context = std::make_unique<VerilatedContext>();
    Bench bench(context.get());
    bench.reset();
#ifdef SNNHW_LOAD_PORT
    if (args.count("load_words") && number(args, "load_words") > 0)
        load(bench, read_hex(need(args, "load"), number(args, "load_words")), max_cycles);
#endif
    const uint64_t t0 = bench.now;
    Producer producer{codes, n_inputs, images, max_cycles};
    Consumer consumer{depth, images, max_cycles};
    while (true) {
        consumer.write(bench.dut.get());
        if (consumer.complete()) break;
        long allowed = stream ? images : consumer.image + 1;
        producer.write(bench.dut.get(), allowed);
        bench.settle();
        consumer.observe(bench.dut.get(), bench.now, stream ? images : producer.image);
        producer.observe(bench.dut.get());
        bench.edge();
    }
    for (const auto& r : consumer.results) {
        std::fprintf(g_results, "%llu", (unsigned long long)(r.first - t0));
        for (int32_t v : r.second) std::fprintf(g_results, " %d", v);
        std::fprintf(g_results, "\n");
    }
    std::fprintf(g_results, "end\n");
    std::fclose(g_results);
    return 0;
}
