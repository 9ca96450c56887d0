package dev.blockdraft.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gson trees turned into plain Java values: objects into {@code Map<String, Object>} (keys in order), arrays into
 * {@code List<Object>}, numbers into {@code Double}/{@code Long}, strings, booleans and {@code null}.
 *
 * <p>Why: a notebook kernel serialises MIME bundles with its own JSON library, usually a relocated copy of Gson
 * that does not know our {@code com.google.gson.JsonObject} and writes its fields
 * ({@code {"members": {...}}}) instead of the JSON it holds. Every JSON library writes maps and lists as JSON.
 */
public final class PlainJson {

    private PlainJson() {
    }

    /** The plain value of {@code element}; unmodifiable maps and lists all the way down. */
    public static Object of(JsonElement element) {
        if (element == null || element.isJsonNull()) {
            return null;
        }
        if (element.isJsonObject()) {
            return of(element.getAsJsonObject());
        }
        if (element.isJsonArray()) {
            JsonArray array = element.getAsJsonArray();
            List<Object> list = new ArrayList<>(array.size());
            array.forEach(item -> list.add(of(item)));
            return Collections.unmodifiableList(list);
        }
        JsonPrimitive primitive = element.getAsJsonPrimitive();
        if (primitive.isBoolean()) {
            return primitive.getAsBoolean();
        }
        if (primitive.isNumber()) {
            Number number = primitive.getAsNumber();
            if (number instanceof Double || number instanceof Float) {
                return number.doubleValue();
            }
            if (number instanceof Integer || number instanceof Long || number instanceof Short || number instanceof Byte) {
                return number.longValue();
            }
            // Parsed JSON holds lazily parsed numbers: integral text stays integral.
            String text = number.toString();
            return text.contains(".") || text.contains("e") || text.contains("E")
                    ? (Object) number.doubleValue() : (Object) number.longValue();
        }
        return primitive.getAsString();
    }

    /** The plain map of {@code object}. */
    public static Map<String, Object> of(JsonObject object) {
        Map<String, Object> map = new LinkedHashMap<>();
        object.entrySet().forEach(entry -> map.put(entry.getKey(), of(entry.getValue())));
        return Collections.unmodifiableMap(map);
    }
}
