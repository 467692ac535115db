package io.fedstream.aggregate;

import java.time.Duration;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.flink.api.common.typeinfo.Types;
import org.junit.jupiter.api.Test;

class ProbeTest {
    @Test
    void probe() throws Exception {
        var h = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                new ChunkAggregator("demo", new FedAvg(), Duration.ofHours(1)), ChunkInput::key, Types.LONG);
        ChunkInput in = new ChunkInput();
        in.kind = ChunkInput.PLAN; in.clients = new String[]{"a"};
        h.processElement(in, 0);
        System.out.println("OUT " + h.extractOutputValues());
        h.close();
    }
}
