package io.fedstream.aggregate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.fedstream.chunk.Floats;
import java.nio.ByteBuffer;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class ChunkInputTest {
    private static final float[] VALUES = {1.5f, -2f, 3.25f};

    /** VALUES as little-endian bytes between a 7-byte head and a 5-byte tail, as in an encoded Kafka record. */
    private static byte[] record() {
        byte[] values = Floats.toBytes(VALUES, 0, VALUES.length);
        byte[] record = new byte[7 + values.length + 5];
        System.arraycopy(values, 0, record, 7, values.length);
        return record;
    }

    @Test
    void wrappedDataIsAViewOfTheRecordItCameIn() {
        byte[] record = record();
        ChunkInput in = new ChunkInput();
        in.wrapData(ByteBuffer.wrap(record, 7, VALUES.length * 4).slice());
        assertSame(record, in.data);
        assertEquals(7, in.dataOffset);
        assertEquals(VALUES.length, in.valueCount());
        assertEquals(VALUES.length * 4, in.dataBytes());
        assertArrayEquals(VALUES, in.values());
        assertArrayEquals(VALUES, in.values(new float[VALUES.length]));
        assertEquals(ByteBuffer.wrap(Floats.toBytes(VALUES, 0, VALUES.length)), in.dataView());
    }

    @Test
    void dataWithoutALengthIsTheWholeArray() {
        // As in a record restored from a savepoint taken before chunk data had an offset and a length.
        ChunkInput in = new ChunkInput();
        in.data = Floats.toBytes(VALUES, 0, VALUES.length);
        assertEquals(VALUES.length, in.valueCount());
        assertArrayEquals(VALUES, in.values());
    }

    @Test
    void emptyDataIsAnEmptyArraySoALengthOfZeroStillMeansAllOfIt() {
        ChunkInput in = new ChunkInput();
        in.wrapData(ByteBuffer.wrap(record(), 7, 0).slice());
        assertEquals(0, in.data.length);
        assertEquals(0, in.valueCount());
    }

    @Test
    void flinkCarriesTheViewBetweenOperators() throws Exception {
        TypeSerializer<ChunkInput> serializer = TypeInformation.of(ChunkInput.class)
                .createSerializer(new SerializerConfigImpl());
        ChunkInput in = new ChunkInput();
        in.kind = ChunkInput.UPDATE;
        in.clientId = "alice";
        in.wrapData(ByteBuffer.wrap(record(), 7, VALUES.length * 4).slice());
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(in, out);
        ChunkInput back = serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertEquals("alice", back.clientId);
        assertEquals(7, back.dataOffset);
        assertArrayEquals(VALUES, back.values());
    }
}
