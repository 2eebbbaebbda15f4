// Free-running Icarus testbench of the snnhw accelerator (docs/semantics.md, "Ports and
// readout map"): the host protocol of snnhw/sim/tb.py, cycle for cycle, without cocotb.
//
// Compiled by snnhw/sim/fast.py with `iverilog -s snnhw_fast_tb -DSNNHW_TOP=<top>`, parameters
// IN_BITS, ADDR_BITS (port widths), CAPACITY, LOAD_CAPACITY (memory sizes) and the define
// SNNHW_LOAD_PORT iff the core has the weight-load port (held idle through reset, then given
// +load_words words if that is > 0); run as
//
//   vvp sim.vvp +inputs=F +results=F +images=N +n_inputs=N +depth=D +stream=0|1 +max_cycles=N
//               [+load=F +load_words=N]
//
// Inputs ($readmemh): hex words, one a line. Results ($fwrite): one line per image,
// "<cycle stamp> <register 0> ... <register D-1>" (decimal int32; the stamp counts clock
// edges from the first image's start), then "end"; or a line "error: ...".
//
// Timing: each rising edge is followed by the host's writes 1 ns later (cocotb: assignments
// after `await RisingEdge`) and by the observation of the settled outputs 2 ns later (cocotb:
// `await ReadOnly()`); the tasks below mirror tb.py's coroutines statement for statement.

`timescale 1ns/1ps

module snnhw_fast_tb;
    parameter IN_BITS = 8;
    parameter ADDR_BITS = 1;
    parameter CAPACITY = 1;
    parameter LOAD_CAPACITY = 1;

    reg clk = 0, rst = 1, in_valid = 0, ack = 0;
    reg [IN_BITS-1:0] in_data = 0;
    reg [ADDR_BITS-1:0] rd_addr = 0;
    wire in_ready, done, busy;
    wire [31:0] rd_data;
`ifdef SNNHW_LOAD_PORT
    reg load_valid = 0;
    reg [15:0] load_data = 0;
    wire load_ready;
`endif

    `SNNHW_TOP dut(
        .clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data),
        .done(done), .ack(ack), .busy(busy), .rd_addr(rd_addr), .rd_data(rd_data)
`ifdef SNNHW_LOAD_PORT
        , .load_valid(load_valid), .load_ready(load_ready), .load_data(load_data)
`endif
    );

    always #5 clk = ~clk;
    integer now = 0;                 // rising edges so far
    always @(posedge clk) now <= now + 1;

    reg [IN_BITS-1:0] codes [0:CAPACITY-1];
    reg [15:0] load_words [0:LOAD_CAPACITY-1];
    reg [8*4096-1:0] inputs_path, results_path, load_path;
    integer images, n_inputs, depth, max_cycles, stream, n_load, results, t0;

    // the write phase of the next timestep (1 ns after the next rising edge)
    task next_write;
        begin @(posedge clk); #1; end
    endtask

    // "error: <what> <index>: <message> within <max_cycles> cycles", then stop
    task fail(input [8*16-1:0] what, input integer index, input [8*32-1:0] message);
        begin
            $fwrite(results, "\nerror: %0s %0d: %0s within %0d cycles\n", what, index, message,
                    max_cycles);
            $fclose(results);
            $finish;
        end
    endtask

    // tb.py AcceleratorTB.reset: rst high for three edges, low at the fourth.
    task reset;
        begin
            rst = 1;
            repeat (3) next_write;
            rst = 0;
            next_write;
        end
    endtask

`ifdef SNNHW_LOAD_PORT
    // tb.py AcceleratorTB.load: every word over load_valid/load_ready
    task load;
        integer i, waited;
        reg ready;
        begin
            for (i = 0; i < n_load; i = i + 1) begin
                load_valid = 1;
                load_data = load_words[i];
                ready = 0;
                for (waited = 0; !ready; waited = waited + 1) begin
                    #1 ready = load_ready;
                    if (!ready && waited >= max_cycles)
                        fail("load word", i, "not accepted");
                    next_write;
                end
            end
            load_valid = 0;
        end
    endtask
`endif

    // tb.py AcceleratorTB.send: one image's input codes (valid/ready)
    task send(input integer image);
        integer w, waited;
        reg ready;
        begin
            for (w = 0; w < n_inputs; w = w + 1) begin
                in_valid = 1;
                in_data = codes[image * n_inputs + w];
                ready = 0;
                for (waited = 0; !ready; waited = waited + 1) begin
                    #1 ready = in_ready;
                    if (!ready && waited >= max_cycles)
                        fail("image", image, "input not accepted");
                    next_write;
                end
            end
            in_valid = 0;
        end
    endtask

    // tb.py AcceleratorTB.receive: wait for the oldest result, read every register, ack it
    task receive(input integer image);
        integer a, wait_from;
        begin
            #1 wait_from = now;
            while (!done) begin
                @(posedge clk); #2;
                // at the same edge as `done`, cocotb's timeout trigger fires first
                if (now - wait_from >= max_cycles)
                    fail("image", image, "no result");
            end
            $fwrite(results, "%0d", now - t0);
            next_write;
            for (a = 0; a < depth; a = a + 1) begin
                rd_addr = a;
                @(posedge clk); #2;
                $fwrite(results, " %0d", $signed(rd_data));
                next_write;
            end
            $fwrite(results, "\n");
            ack = 1;
            next_write;
            ack = 0;
        end
    endtask

    integer i, k;
    initial begin
        if (!$value$plusargs("inputs=%s", inputs_path) || !$value$plusargs("results=%s", results_path)
                || !$value$plusargs("images=%d", images) || !$value$plusargs("n_inputs=%d", n_inputs)
                || !$value$plusargs("depth=%d", depth) || !$value$plusargs("stream=%d", stream)
                || !$value$plusargs("max_cycles=%d", max_cycles)) begin
            $display("error: missing argument (+inputs +results +images +n_inputs +depth +stream +max_cycles)");
            $finish;
        end
        results = $fopen(results_path, "w");
        if (images * n_inputs > CAPACITY) begin
            $fwrite(results, "error: %0d input words exceed the capacity %0d\n", images * n_inputs, CAPACITY);
            $fclose(results);
            $finish;
        end
        if (images > 0) $readmemh(inputs_path, codes, 0, images * n_inputs - 1);
        reset;
`ifdef SNNHW_LOAD_PORT
        if (!$value$plusargs("load_words=%d", n_load)) n_load = 0;
        if (n_load > 0) begin
            if (!$value$plusargs("load=%s", load_path) || n_load > LOAD_CAPACITY) begin
                $fwrite(results, "error: +load missing or +load_words above %0d\n", LOAD_CAPACITY);
                $fclose(results);
                $finish;
            end
            $readmemh(load_path, load_words, 0, n_load - 1);
            load;
        end
`endif
        t0 = now;
        if (stream)
            fork
                for (i = 0; i < images; i = i + 1) send(i);
                for (k = 0; k < images; k = k + 1) receive(k);
            join
        else
            for (i = 0; i < images; i = i + 1) begin
                send(i);
                receive(i);
            end
        $fwrite(results, "end\n");
        $fclose(results);
        $finish;
    end
endmodule
