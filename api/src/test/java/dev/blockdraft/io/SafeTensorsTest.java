package dev.blockdraft.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void fp32RoundTripIsExactAndFp16IsHalfPrecision() throws IOException {
        float[] values = {0f, -1.5f, 3.14159f, 1e-8f, 65504f, -0.0f};
        List<SafeTensors.Tensor> tensors = List.of(new SafeTensors.Tensor("a", new long[] {2, 3}, values),
                new SafeTensors.Tensor("b.weight", new long[] {1}, new float[] {7f}));
        Path f32 = dir.resolve("f32.safetensors");
        try (OutputStream out = Files.newOutputStream(f32)) {
            SafeTensors.write(out, tensors, Map.of("k", "v"), SafeTensors.Stored.F32);
        }
        SafeTensors st = SafeTensors.open(f32);
        assertArrayEquals(values, st.readFloats("a"));
        assertArrayEquals(new long[] {2, 3}, st.entry("a").shape());
        assertEquals("F32", st.entry("a").dtype());
        // header padded to a multiple of 8, as HF's writer does
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(f32), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8);

        Path f16 = dir.resolve("f16.safetensors");
        try (OutputStream out = Files.newOutputStream(f16)) {
            SafeTensors.write(out, tensors, Map.of(), SafeTensors.Stored.F16);
        }
        float[] half = SafeTensors.open(f16).readFloats("a");
        for (int i = 0; i < values.length; i++) {
            assertEquals(values[i], half[i], Math.abs(values[i]) * 1e-3 + 6e-8, "value " + i);
        }
    }

    @Test
    void bf16IsRoundedToNearestEvenAndTheHeaderIsTheSameWhateverTheMapOrder() throws IOException {
        float[] values = {1f, 1.00390625f, 1.01171875f, -3.14159f, 1e-30f, 65504f};
        List<SafeTensors.Tensor> tensors = List.of(new SafeTensors.Tensor("w", new long[] {6}, values));
        Path bf16 = dir.resolve("bf16.safetensors");
        Map<String, String> meta = Map.of("z", "1", "a", "2", "m", "3", "source", "here");
        try (OutputStream out = Files.newOutputStream(bf16)) {
            SafeTensors.write(out, tensors, meta, SafeTensors.Stored.BF16);
        }
        SafeTensors st = SafeTensors.open(bf16);
        assertEquals("BF16", st.entry("w").dtype());
        float[] read = st.readFloats("w");
        for (int i = 0; i < values.length; i++) {
            assertEquals(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(values[i])), read[i], "value " + i);
        }
        assertEquals(1f, read[1], "1 + 2^-8 is a tie: to even, down");
        assertEquals(1.015625f, read[2], "1 + 3 * 2^-8 is a tie: to even, up");
        byte[] bytes = Files.readAllBytes(bf16);
        int headerLen = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, headerLen, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\",\"a\":\"2\",\"m\":\"3\",\"source\":\"here\",\"z\":\"1\"}"),
                header);
        Path again = dir.resolve("again.safetensors");
        try (OutputStream out = Files.newOutputStream(again)) {
            SafeTensors.write(out, tensors, new java.util.HashMap<>(meta), SafeTensors.Stored.BF16);
        }
        assertArrayEquals(bytes, Files.readAllBytes(again));
    }

    @Test
    void bf16WideningIsExactForEveryBitPattern() throws IOException {
        // every bf16 value except NaNs: widening must reproduce the fp32 whose upper half it is
        int n = 1 << 16;
        ByteBuffer data = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            data.putShort((short) i);
        }
        Path file = writeRaw("bf16.safetensors", "BF16", new long[] {n}, data.array());
        float[] got = SafeTensors.open(file).readFloats("x");
        for (int i = 0; i < n; i++) {
            float expected = Float.intBitsToFloat(i << 16);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(got[i]));
            } else {
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(got[i]), "bits " + i);
            }
        }
    }

    @Test
    void fp16WideningMatchesIeeeForEveryBitPattern() {
        for (int i = 0; i < (1 << 16); i++) {
            float f = HalfFloats.halfToFloat((short) i);
            if (!Float.isNaN(f)) {
                assertEquals((short) i, HalfFloats.floatToHalf(f), "half bits " + Integer.toHexString(i));
            }
        }
        assertEquals(1.0f, HalfFloats.halfToFloat((short) 0x3c00));
        assertEquals(-2.0f, HalfFloats.halfToFloat((short) 0xc000));
        assertEquals(5.9604645e-8f, HalfFloats.halfToFloat((short) 0x0001)); // smallest subnormal
        assertEquals(65504f, HalfFloats.halfToFloat((short) 0x7bff));
    }

    @Test
    void truncatedFileIsAClearError() throws IOException {
        Path file = dir.resolve("t.safetensors");
        try (OutputStream out = Files.newOutputStream(file)) {
            SafeTensors.write(out, List.of(new SafeTensors.Tensor("w", new long[] {4}, new float[] {1, 2, 3, 4})), Map.of(), SafeTensors.Stored.F32);
        }
        byte[] all = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(all, all.length - 4));
        BadInputException e = assertThrows(BadInputException.class, () -> SafeTensors.open(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("truncated"), e.getMessage());

        Files.write(file, new byte[] {1, 2, 3});
        e = assertThrows(BadInputException.class, () -> SafeTensors.open(file));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void wrongByteCountAndUnknownDtypeAreClearErrors() throws IOException {
        Path wrong = writeRaw("w.safetensors", "F32", new long[] {3}, new byte[8]);
        BadInputException e = assertThrows(BadInputException.class, () -> SafeTensors.open(wrong));
        assertTrue(e.getMessage().contains("needs 12 bytes but its data_offsets [0,8] span 8"), e.getMessage());
        Path odd = writeRaw("o.safetensors", "Q4_K", new long[] {2}, new byte[2]);
        e = assertThrows(BadInputException.class, () -> SafeTensors.open(odd));
        assertTrue(e.getMessage().contains("unsupported dtype Q4_K"), e.getMessage());
        // a dtype of the format that blockdraft cannot widen: the header reads, the tensor is refused by name
        Path fp8 = writeRaw("f8.safetensors", "F8_E4M3", new long[] {2}, new byte[2]);
        e = assertThrows(BadInputException.class, () -> SafeTensors.open(fp8).readFloats("x"));
        assertTrue(e.getMessage().contains("tensor 'x' has dtype F8_E4M3, expected a floating type"), e.getMessage());
    }

    @Test
    void shardedCheckpointReadsThroughTheIndex() throws IOException {
        Path a = dir.resolve("model-00001-of-00002.safetensors");
        Path b = dir.resolve("model-00002-of-00002.safetensors");
        try (OutputStream out = Files.newOutputStream(a)) {
            SafeTensors.write(out, List.of(new SafeTensors.Tensor("x", new long[] {2}, new float[] {1, 2})), Map.of(), SafeTensors.Stored.F32);
        }
        try (OutputStream out = Files.newOutputStream(b)) {
            SafeTensors.write(out, List.of(new SafeTensors.Tensor("y", new long[] {1}, new float[] {9})), Map.of(), SafeTensors.Stored.F32);
        }
        Files.writeString(dir.resolve(SafeTensors.INDEX_FILE), "{\"metadata\":{},\"weight_map\":{\"x\":\"" + a.getFileName()
                + "\",\"y\":\"" + b.getFileName() + "\"}}");
        SafeTensors st = SafeTensors.openFolder(dir);
        assertArrayEquals(new float[] {1, 2}, st.readFloats("x"));
        assertArrayEquals(new float[] {9}, st.readFloats("y"));

        Files.writeString(dir.resolve(SafeTensors.INDEX_FILE), "{\"weight_map\":{\"z\":\"" + a.getFileName() + "\"}}");
        BadInputException e = assertThrows(BadInputException.class, () -> SafeTensors.openFolder(dir));
        assertTrue(e.getMessage().contains("'z'"), e.getMessage());
    }

    @Test
    void atomicFolderWriteKeepsTheOldFolderWhenTheWriterFails() throws IOException {
        Path target = dir.resolve("ckpt");
        AtomicFiles.writeFolder(target, d -> Files.writeString(d.resolve("weights"), "good"));
        assertThrows(RuntimeException.class, () -> AtomicFiles.writeFolder(target, d -> {
            Files.writeString(d.resolve("weights"), "half");
            throw new IOException("simulated crash mid-save");
        }));
        assertEquals("good", Files.readString(target.resolve("weights")));
        try (var listing = Files.list(dir)) {
            assertEquals(List.of(target), listing.toList(), "no temporary folders left behind");
        }
        AtomicFiles.writeFolder(target, d -> Files.writeString(d.resolve("weights"), "newer"));
        assertEquals("newer", Files.readString(target.resolve("weights")));
    }

    /** The header must describe the file exactly: each violation of the format is one line naming tensor and values. */
    @Test
    void headersThatDoNotTileTheDataSectionAreRefused() throws IOException {
        byte[] data = new byte[16]; // room for two F32 tensors of shape [2]
        assertHeaderError(header("a", "F32", "[2]", "[0, 8]", "b", "F32", "[2]", "[4, 12]"), data,
                "tensor 'b' (data_offsets [4, 12]) overlaps tensor 'a'");
        assertHeaderError(header("a", "F32", "[2]", "[-8, 0]", "b", "F32", "[2]", "[8, 16]"), data,
                "tensor 'a' has data_offsets [-8,0]; they must satisfy 0 <= begin <= end");
        assertHeaderError(header("a", "F32", "[2]", "[8, 0]", "b", "F32", "[2]", "[8, 16]"), data,
                "they must satisfy 0 <= begin <= end");
        assertHeaderError(header("a", "F32", "[1]", "[0, 4]", "b", "F32", "[2]", "[8, 16]"), data,
                "unused bytes 4..8 before tensor 'b'");
        assertHeaderError(header("a", "F32", "[2]", "[0, 8]", "b", "F32", "[1]", "[8, 12]"), data,
                "end at data byte 12 but the data section has 16 bytes (unused bytes at the end)");
        assertHeaderError(header("a", "F32", "[3]", "[0, 8]", "b", "F32", "[2]", "[8, 16]"), data,
                "tensor 'a' of dtype F32 and shape [3] needs 12 bytes but its data_offsets [0,8] span 8");
        assertHeaderError(header("a", "F16", "[2]", "[0, 8]", "b", "F32", "[2]", "[8, 16]"), data,
                "tensor 'a' of dtype F16 and shape [2] needs 4 bytes");
        assertHeaderError(header("a", "Q4", "[2]", "[0, 8]", "b", "F32", "[2]", "[8, 16]"), data,
                "tensor 'a' has unsupported dtype Q4");
        assertHeaderError(header("a", "F32", "[2.5]", "[0, 8]", "b", "F32", "[2]", "[8, 16]"), data,
                "tensor 'a': shape holds 2.5, expected whole numbers");
        assertHeaderError(header("a", "F32", "[-2]", "[0, 8]", "b", "F32", "[2]", "[8, 16]"), data,
                "tensor 'a' has a negative dimension");
        assertHeaderError(header("a", "F32", "[4294967296, 4294967296, 4294967296]", "[0, 8]", "b", "F32", "[2]",
                "[8, 16]"), data, "tensor 'a' is too large");
        assertHeaderError(header("a", "F32", "[2]", "[0, 8]", "b", "F32", "[2]", "[8, 24]"), data,
                "truncated: tensor 'b' ends at data byte 24 but the data section has 16");
        assertHeaderError("{\"a\": {\"dtype\": {\"x\": 1}, \"shape\": [2], \"data_offsets\": [0, 16]}}", data,
                "malformed header entry for tensor 'a'");
        assertHeaderError("{\"__metadata__\": {\"format\": 5}}", new byte[0], "__metadata__.format must be a string");
        // a well-formed two-tensor file of the same bytes reads
        Path good = rawFile("good.safetensors", header("a", "F32", "[2]", "[0, 8]", "b", "F32", "[2]", "[8, 16]"), data);
        assertEquals(2, SafeTensors.open(good).names().size());
    }

    @Test
    void aShardIndexNamesOnlyShardFilesBesideIt() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("sharded"));
        Path index = folder.resolve(SafeTensors.INDEX_FILE);
        Files.writeString(index, "{\"weight_map\": {\"a\": {\"file\": 1}}}");
        BadInputException e = assertThrows(BadInputException.class, () -> SafeTensors.openFolder(folder));
        assertTrue(e.getMessage().contains("weight_map.a must be a shard file name, found {\"file\":1}"), e.getMessage());
        Files.writeString(index, "{\"weight_map\": {\"a\": \"../../etc/passwd\"}}");
        e = assertThrows(BadInputException.class, () -> SafeTensors.openFolder(folder));
        assertTrue(e.getMessage().contains("weight_map.a=../../etc/passwd must name a file beside the index"), e.getMessage());
    }

    @Test
    void headerLengthIsBounded() throws IOException {
        Path file = dir.resolve("huge-header.safetensors");
        Files.write(file, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        BadInputException e = assertThrows(BadInputException.class, () -> SafeTensors.open(file));
        assertTrue(e.getMessage().contains("header length 1099511627776 must be within 1..100000000 bytes"), e.getMessage());
        Files.write(file, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).array());
        e = assertThrows(BadInputException.class, () -> SafeTensors.open(file));
        assertTrue(e.getMessage().contains("not safetensors: header length"), e.getMessage());
    }

    private void assertHeaderError(String header, byte[] data, String problem) throws IOException {
        Path file = rawFile("bad.safetensors", header, data);
        byte[] before = Files.readAllBytes(file);
        BadInputException e = assertThrows(BadInputException.class, () -> SafeTensors.open(file), header);
        assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(problem), "'" + problem + "' in: " + e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file), "the file is only read");
    }

    private static String header(String n1, String d1, String s1, String o1, String n2, String d2, String s2, String o2) {
        return "{\"" + n1 + "\": {\"dtype\": \"" + d1 + "\", \"shape\": " + s1 + ", \"data_offsets\": " + o1 + "}, \""
                + n2 + "\": {\"dtype\": \"" + d2 + "\", \"shape\": " + s2 + ", \"data_offsets\": " + o2 + "}}";
    }

    private Path rawFile(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.write(h);
        out.write(data);
        Path file = dir.resolve(name);
        Files.write(file, out.toByteArray());
        return file;
    }

    private Path writeRaw(String name, String dtype, long[] shape, byte[] data) throws IOException {
        JsonObject header = new JsonObject();
        JsonObject t = new JsonObject();
        t.addProperty("dtype", dtype);
        com.google.gson.JsonArray s = new com.google.gson.JsonArray();
        for (long d : shape) {
            s.add(d);
        }
        t.add("shape", s);
        com.google.gson.JsonArray off = new com.google.gson.JsonArray();
        off.add(0);
        off.add(data.length);
        t.add("data_offsets", off);
        header.add("x", t);
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.write(h);
        out.write(data);
        Path file = dir.resolve(name);
        Files.write(file, out.toByteArray());
        return file;
    }
}
