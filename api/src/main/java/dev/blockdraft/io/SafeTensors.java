package dev.blockdraft.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The Hugging Face safetensors format: an 8-byte little-endian header length, a JSON header
 * mapping tensor names to {@code dtype}, {@code shape} and {@code data_offsets}, then raw
 * little-endian tensor bytes. Single files and sharded checkpoints
 * ({@code model.safetensors.index.json}) are read; floating tensors are widened to fp32 on read
 * (bf16 in Java, because DJL's PyTorch engine cannot hold a BFLOAT16 array).
 */
public final class SafeTensors {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    /** One tensor's header entry. {@code begin}/{@code end} are absolute byte offsets in the file. */
    public record Entry(Path file, String name, String dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        public Shape djlShape() {
            return new Shape(shape);
        }
    }

    private final Map<String, Entry> entries;

    private SafeTensors(Map<String, Entry> entries) {
        this.entries = entries;
    }

    /** Opens {@code model.safetensors} or, failing that, the sharded index in a checkpoint folder. */
    public static SafeTensors openFolder(Path folder) {
        Path single = folder.resolve(SINGLE_FILE);
        Path index = folder.resolve(INDEX_FILE);
        if (Files.exists(single)) {
            return open(single);
        }
        if (Files.exists(index)) {
            return openIndex(index);
        }
        throw BadInputException.of(folder, "no " + SINGLE_FILE + " or " + INDEX_FILE + " in this folder");
    }

    public static SafeTensors open(Path file) {
        return new SafeTensors(readHeader(file));
    }

    private static SafeTensors openIndex(Path index) {
        JsonObject root;
        try {
            root = JsonParser.parseString(Files.readString(index)).getAsJsonObject();
        } catch (IOException e) {
            throw BadInputException.of(index, "cannot read: " + e.getMessage(), e);
        } catch (JsonParseException | IllegalStateException e) {
            throw BadInputException.of(index, "malformed JSON: " + e.getMessage(), e);
        }
        if (!root.has("weight_map") || !root.get("weight_map").isJsonObject()) {
            throw BadInputException.of(index, "missing object field 'weight_map'");
        }
        Map<String, String> weightMap = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : root.getAsJsonObject("weight_map").entrySet()) {
            JsonElement v = e.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                throw BadInputException.of(index, "weight_map." + e.getKey() + " must be a shard file name, found "
                        + abbreviate(v));
            }
            String shard = v.getAsString();
            if (shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                throw BadInputException.of(index, "weight_map." + e.getKey() + "=" + shard
                        + " must name a file beside the index");
            }
            weightMap.put(e.getKey(), shard);
        }
        Map<String, Map<String, Entry>> shards = new LinkedHashMap<>();
        Map<String, Entry> all = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            Map<String, Entry> shard =
                    shards.computeIfAbsent(e.getValue(), f -> readHeader(index.resolveSibling(f)));
            Entry entry = shard.get(e.getKey());
            if (entry == null) {
                throw BadInputException.of(index.resolveSibling(e.getValue()),
                        "tensor '" + e.getKey() + "' listed in " + index.getFileName() + " is not in this shard");
            }
            all.put(e.getKey(), entry);
        }
        return new SafeTensors(all);
    }

    /** Headers are a few hundred bytes per tensor; anything larger is not a safetensors file (HF's limit, too). */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    private static Map<String, Entry> readHeader(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw BadInputException.of(file, "truncated: " + size + " bytes, a safetensors file has at least 8");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES) {
                throw BadInputException.of(file, "not safetensors: header length " + Long.toUnsignedString(headerLen)
                        + " must be within 1.." + MAX_HEADER_BYTES + " bytes");
            }
            if (8 + headerLen > size) {
                throw BadInputException.of(file, "truncated: header length " + headerLen + " but the file has "
                        + size + " bytes");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8);
            JsonObject header;
            try {
                header = JsonParser.parseString(new String(headerBuf.array(), StandardCharsets.UTF_8)).getAsJsonObject();
            } catch (JsonParseException | IllegalStateException e) {
                throw BadInputException.of(file, "malformed header JSON: " + e.getMessage(), e);
            }
            long dataStart = 8 + headerLen;
            Map<String, Entry> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> e : header.entrySet()) {
                if (e.getKey().equals("__metadata__")) {
                    checkMetadata(file, e.getValue());
                    continue;
                }
                out.put(e.getKey(), parseEntry(file, e.getKey(), e.getValue(), dataStart, size));
            }
            checkLayout(file, out.values(), dataStart, size);
            return out;
        } catch (NoSuchFileException e) {
            throw BadInputException.of(file, "file not found", e);
        } catch (IOException e) {
            throw BadInputException.of(file, "cannot read: " + e.getMessage(), e);
        }
    }

    private static void checkMetadata(Path file, JsonElement meta) {
        if (!meta.isJsonObject()) {
            throw BadInputException.of(file, "__metadata__ must be an object of strings, found " + abbreviate(meta));
        }
        for (Map.Entry<String, JsonElement> m : meta.getAsJsonObject().entrySet()) {
            JsonElement v = m.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                throw BadInputException.of(file, "__metadata__." + m.getKey() + " must be a string, found " + abbreviate(v));
            }
        }
    }

    /**
     * The tensors' byte ranges must tile the data section exactly, as the format requires: sorted
     * by offset, each begins where the previous one ended, the first at 0 and the last at the end
     * of the file. Overlaps would read one tensor's bytes (or the header's) as another's; holes
     * and trailing bytes mean the header does not describe the file.
     */
    private static void checkLayout(Path file, java.util.Collection<Entry> entries, long dataStart, long fileSize) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(java.util.Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = dataStart;
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.begin() < expected) {
                throw BadInputException.of(file, "tensor '" + e.name() + "' (data_offsets [" + (e.begin() - dataStart)
                        + ", " + (e.end() - dataStart) + "]) overlaps tensor '" + previous.name() + "' (ending at "
                        + (previous.end() - dataStart) + "); tensors must not share bytes");
            }
            if (e.begin() > expected) {
                throw BadInputException.of(file, "data section has unused bytes " + (expected - dataStart) + ".."
                        + (e.begin() - dataStart) + " before tensor '" + e.name() + "'; tensors must cover it without gaps");
            }
            expected = e.end();
            previous = e;
        }
        if (expected != fileSize) {
            throw BadInputException.of(file, "the header's tensors end at data byte " + (expected - dataStart)
                    + " but the data section has " + (fileSize - dataStart) + " bytes"
                    + (expected < fileSize ? " (unused bytes at the end)" : ""));
        }
    }

    private static Entry parseEntry(Path file, String name, JsonElement json, long dataStart, long fileSize) {
        try {
            JsonObject o = json.getAsJsonObject();
            String dtype = o.get("dtype").getAsString();
            int bytes = bytesPerElement(file, name, dtype);
            JsonArray shapeJson = o.getAsJsonArray("shape");
            long[] shape = new long[shapeJson.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = wholeNumber(file, name, "shape", shapeJson.get(i));
                if (shape[i] < 0) {
                    throw BadInputException.of(file, "tensor '" + name + "' has a negative dimension in shape " + shapeJson);
                }
                numel = multiply(file, name, numel, shape[i]);
            }
            JsonArray offsets = o.getAsJsonArray("data_offsets");
            if (offsets.size() != 2) {
                throw BadInputException.of(file, "tensor '" + name + "' has data_offsets " + offsets + "; expected [begin, end]");
            }
            long first = wholeNumber(file, name, "data_offsets", offsets.get(0));
            long last = wholeNumber(file, name, "data_offsets", offsets.get(1));
            if (first < 0 || last < first) {
                throw BadInputException.of(file, "tensor '" + name + "' has data_offsets " + offsets
                        + "; they must satisfy 0 <= begin <= end");
            }
            long dataBytes = fileSize - dataStart;
            if (last > dataBytes) {
                throw BadInputException.of(file, "truncated: tensor '" + name + "' ends at data byte " + last
                        + " but the data section has " + dataBytes);
            }
            long expected = multiply(file, name, numel, bytes);
            if (last - first != expected) {
                throw BadInputException.of(file, "tensor '" + name + "' of dtype " + dtype + " and shape "
                        + java.util.Arrays.toString(shape) + " needs " + expected + " bytes but its data_offsets "
                        + offsets + " span " + (last - first));
            }
            return new Entry(file, name, dtype, shape, dataStart + first, dataStart + last);
        } catch (NullPointerException | IllegalStateException | UnsupportedOperationException
                | IndexOutOfBoundsException | ClassCastException e) {
            throw BadInputException.of(file, "malformed header entry for tensor '" + name + "': " + abbreviate(json)
                    + " (expected {\"dtype\": \"F32\", \"shape\": [..], \"data_offsets\": [begin, end]})", e);
        }
    }

    private static long wholeNumber(Path file, String name, String field, JsonElement e) {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw BadInputException.of(file, "tensor '" + name + "': " + field + " holds " + abbreviate(e)
                    + ", expected whole numbers");
        }
        try {
            return e.getAsBigDecimal().longValueExact();
        } catch (ArithmeticException ex) {
            throw BadInputException.of(file, "tensor '" + name + "': " + field + " holds " + e
                    + ", expected whole numbers below 2^63");
        }
    }

    private static long multiply(Path file, String name, long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw BadInputException.of(file, "tensor '" + name + "' is too large: its byte size overflows 64 bits");
        }
    }

    private static String abbreviate(JsonElement e) {
        String s = String.valueOf(e);
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    private static int bytesPerElement(Path file, String name, String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "U8", "I8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> throw BadInputException.of(file, "tensor '" + name + "' has unsupported dtype " + dtype
                    + " (supported: F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL)");
        };
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    public Set<String> names() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    public Entry entry(String name) {
        return entries.get(name);
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** Reads a floating tensor widened to fp32 (exactly: fp16 and bf16 values are all fp32 values). */
    public float[] readFloats(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException("no tensor '" + name + "'");
        }
        if (e.end() - e.begin() > Integer.MAX_VALUE - 8) {
            throw BadInputException.of(e.file(), "tensor '" + name + "' has " + (e.end() - e.begin())
                    + " bytes; blockdraft reads tensors of up to 2 GiB");
        }
        ByteBuffer raw = readBytes(e);
        int n = Math.toIntExact(e.numel());
        float[] out = new float[n];
        switch (e.dtype()) {
            case "F32" -> raw.asFloatBuffer().get(out);
            case "F16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.halfToFloat(raw.getShort(2 * i));
                }
            }
            case "BF16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.bf16ToFloat(raw.getShort(2 * i));
                }
            }
            case "F64" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) raw.getDouble(8 * i);
                }
            }
            default -> throw BadInputException.of(e.file(), "tensor '" + name + "' has dtype " + e.dtype()
                    + ", expected a floating type (F32, F16, BF16, F64)");
        }
        return out;
    }

    /** Creates an fp32 NDArray of the tensor on the manager's device. */
    public NDArray readFloat32(String name, NDManager manager) {
        Entry e = entries.get(name);
        return manager.create(readFloats(name), e.djlShape());
    }

    private static ByteBuffer readBytes(Entry e) {
        try (FileChannel ch = FileChannel.open(e.file(), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(e.end() - e.begin())).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, buf, e.begin());
            buf.flip();
            return buf;
        } catch (IOException ex) {
            throw BadInputException.of(e.file(), "cannot read tensor '" + e.name() + "': " + ex.getMessage(), ex);
        }
    }

    /** A tensor to write: name, shape and fp32 values, stored as {@link Stored} says. */
    public record Tensor(String name, long[] shape, float[] values) {}

    /** How written values are stored: fp32 as is, or narrowed (round to nearest even) to fp16 or bf16. */
    public enum Stored {
        F32(4), F16(2), BF16(2);

        final int bytes;

        Stored(int bytes) {
            this.bytes = bytes;
        }
    }

    /**
     * Writes tensors as one safetensors file, in the given order, with {@code "format": "pt"} and
     * {@code metadata} (sorted by key, so the same tensors give the same bytes) in its header. Callers wrap
     * this in {@link AtomicFiles}.
     */
    public static void write(OutputStream out, List<Tensor> tensors, Map<String, String> metadata, Stored stored)
            throws IOException {
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("format", "pt");
        new java.util.TreeMap<>(metadata).forEach(meta::addProperty);
        header.add("__metadata__", meta);
        long offset = 0;
        int bpe = stored.bytes;
        for (Tensor t : tensors) {
            JsonObject o = new JsonObject();
            o.addProperty("dtype", stored.name());
            JsonArray shape = new JsonArray();
            for (long d : t.shape()) {
                shape.add(d);
            }
            o.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offset += (long) t.values().length * bpe;
            offsets.add(offset);
            o.add("data_offsets", offsets);
            header.add(t.name(), o);
        }
        byte[] headerBytes = new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
        // Pad the header with spaces to a multiple of 8 so tensor data is aligned, as HF's writer does.
        int padded = (headerBytes.length + 7) / 8 * 8;
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        out.write(lenBuf.array());
        out.write(headerBytes);
        for (int i = headerBytes.length; i < padded; i++) {
            out.write(' ');
        }
        for (Tensor t : tensors) {
            ByteBuffer data = ByteBuffer.allocate(t.values().length * bpe).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : t.values()) {
                switch (stored) {
                    case F32 -> data.putFloat(v);
                    case F16 -> data.putShort(HalfFloats.floatToHalf(v));
                    case BF16 -> data.putShort(HalfFloats.floatToBf16(v));
                }
            }
            out.write(data.array());
        }
        out.flush(); // callers may hand in a buffered stream they do not close
    }

    /** Convenience: fp32 arrays to {@link Tensor}s (copies to host). */
    public static List<Tensor> fromArrays(Map<String, NDArray> arrays) {
        List<Tensor> out = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
            NDArray a = e.getValue();
            float[] values = a.getDataType() == DataType.FLOAT32 ? a.toFloatArray()
                    : toFloat32Copy(a);
            out.add(new Tensor(e.getKey(), a.getShape().getShape(), values));
        }
        return out;
    }

    private static float[] toFloat32Copy(NDArray a) {
        try (NDArray f = a.toType(DataType.FLOAT32, true)) {
            return f.toFloatArray();
        }
    }
}
