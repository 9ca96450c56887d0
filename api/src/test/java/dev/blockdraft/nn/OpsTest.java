package dev.blockdraft.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** The launch-saving rewrites compute exactly what the plain formulas do. */
class OpsTest {

    @Test
    void ropeWithSharedFactorsIsBitIdenticalToRotateHalf() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray[] tables = Ops.ropeTables(m, 64, 16, 10000);
            NDArray x = m.randomNormal(new Shape(2, 3, 5, 16));
            NDArray positions = m.create(new long[] {0, 7, 8, 30, 63, 1, 2, 3, 4, 5}).reshape(2, 5);
            for (DataType type : new DataType[] {DataType.FLOAT32, DataType.FLOAT16}) {
                NDArray xt = x.toType(type, false);
                NDArray cos = Ops.embed(positions, tables[0]).expandDims(1).toType(type, false);
                NDArray sin = Ops.embed(positions, tables[1]).expandDims(1).toType(type, false);
                NDArray rotated = xt.get(new NDIndex("..., 8:")).neg().concat(xt.get(new NDIndex("..., :8")), -1);
                NDArray expected = xt.mul(cos).add(rotated.mul(sin)); // HF: x·cos + rotate_half(x)·sin
                NDArray actual = Ops.rope(xt, Ops.rotary(positions, tables[0], tables[1], type));
                assertEquals(type, actual.getDataType());
                assertArrayEquals(expected.toType(DataType.FLOAT32, false).toFloatArray(),
                        actual.toType(DataType.FLOAT32, false).toFloatArray(), 0f, type.toString());
                // gathered from tables already in the compute type, the sin half negated once (LlamaModel's
                // ropeSignedSin, which the drafter gathers from): the same bits
                NDArray signedTable = tables[1].get(new NDIndex("..., :8")).neg().concat(tables[1].get(new NDIndex("..., 8:")), -1)
                        .toType(type, false);
                Ops.Rotary fromTables = new Ops.Rotary(Ops.embed(positions, tables[0].toType(type, false)).expandDims(1),
                        Ops.embed(positions, signedTable).expandDims(1));
                assertArrayEquals(expected.toType(DataType.FLOAT32, false).toFloatArray(),
                        Ops.rope(xt, fromTables).toType(DataType.FLOAT32, false).toFloatArray(), 0f, type + ", from tables");
            }
        }
    }

    @Test
    void cachedScalarsComputeWhatHostScalarsDo() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(4, 7)).mul(100);
            for (DataType type : new DataType[] {DataType.FLOAT32, DataType.FLOAT16, DataType.FLOAT64}) {
                NDArray xt = x.toType(type, false);
                double v = Math.sqrt(384); // not representable in fp16 or fp32
                NDArray expected = xt.mul(v);
                NDArray actual = xt.mul(Scalars.of(xt, v));
                assertEquals(expected.getDataType(), actual.getDataType());
                assertArrayEquals(expected.toType(DataType.FLOAT64, false).toDoubleArray(),
                        actual.toType(DataType.FLOAT64, false).toDoubleArray(), 0.0, type.toString());
            }
            // a 0-d loss keeps its type with a typed scalar, and widens with the float64 one as DJL's would
            NDArray loss = m.create(2.5f);
            assertEquals(DataType.FLOAT32, loss.mul(Scalars.of(loss, 3, DataType.FLOAT32)).getDataType());
            assertEquals(loss.mul(3.0).getDataType(), loss.mul(Scalars.of(loss, 3.0)).getDataType());
            // made once: the same array comes back
            assertSame(Scalars.of(x, 0.125), Scalars.of(x.add(1), 0.125));
        }
    }
}
