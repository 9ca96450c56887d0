package dev.blockdraft.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Loads prompt files, one JSON object per line, in any of these layouts:
 * <ul>
 *   <li>{@code {"id", "turns": ["user turn", ...], "reference"?, "category"?}} (blockdraft's, EAGLE's);</li>
 *   <li>MT-Bench's {@code {"question_id": 81, "category", "turns": [...]}};</li>
 *   <li>ShareGPT's {@code {"conversations": [{"from": "human", "value"}, {"from": "gpt", ...}]}}
 *       or {@code {"messages": [{"role": "user", "content"}, ...]}}: the user turns are kept, the
 *       recorded answers dropped (the target answers itself);</li>
 *   <li>a plain {@code {"prompt": "..."}}.</li>
 * </ul>
 * Ids ({@code id} or {@code question_id}) may be strings or integers; without one, the line number
 * is the id. A line that fits no layout is an error naming the file and line.
 */
public final class Benchmarks {

    private Benchmarks() {}

    /** The first {@code maxPrompts} prompts of a benchmark ({@code maxPrompts < 0} for all). */
    public static List<BenchmarkPrompt> load(DataFolder folder, Benchmark benchmark, int maxPrompts) {
        return load(folder.benchmark(benchmark), maxPrompts);
    }

    /** The first {@code maxPrompts} prompts of a user's prompt set ({@code maxPrompts < 0} for all). */
    public static List<BenchmarkPrompt> load(Benchmark custom, int maxPrompts) {
        return load(custom.file().orElseThrow(() -> new IllegalArgumentException(
                custom.displayName() + " is a built-in benchmark; load it from a DataFolder")), maxPrompts);
    }

    /** The first {@code maxPrompts} prompts of a prompt file ({@code maxPrompts < 0} for all). */
    public static List<BenchmarkPrompt> load(Path file, int maxPrompts) {
        List<BenchmarkPrompt> prompts;
        try (Stream<BenchmarkPrompt> lines = JsonLines.stream(file, Benchmarks::parse)) {
            prompts = (maxPrompts < 0 ? lines : lines.limit(maxPrompts)).toList();
        }
        if (prompts.isEmpty() && maxPrompts != 0) {
            throw new DataException(file + ": benchmark file is empty; expected one JSON object per line");
        }
        return prompts;
    }

    private static BenchmarkPrompt parse(JsonLines.Line line) {
        String id = id(line);
        List<String> turns;
        if (line.has("turns")) {
            turns = line.requiredStringList("turns");
            if (turns.isEmpty()) {
                throw line.error("field \"turns\" is empty; a prompt needs at least one turn");
            }
        } else if (line.has("conversations")) {
            turns = userTurns(line, "conversations", "from", "value", List.of("human", "user"), List.of("gpt", "assistant", "bot", "chatgpt"));
        } else if (line.has("messages")) {
            turns = userTurns(line, "messages", "role", "content", List.of("user"), List.of("assistant"));
        } else if (line.has("prompt")) {
            turns = List.of(line.requiredString("prompt"));
        } else {
            throw line.error("no prompt found; expected \"turns\": [...], \"conversations\": [...], \"messages\": [...]"
                    + " or \"prompt\": \"...\"");
        }
        if (turns.isEmpty()) {
            throw line.error("no user turn; a prompt needs at least one");
        }
        return new BenchmarkPrompt(id, turns, line.optionalString("reference"), line.optionalString("category"));
    }

    private static String id(JsonLines.Line line) {
        for (String field : List.of("id", "question_id")) {
            JsonElement value = line.object().get(field);
            if (value == null || value.isJsonNull()) {
                continue;
            }
            if (value instanceof JsonPrimitive p && (p.isString() || p.isNumber())) {
                return p.getAsString();
            }
            throw line.error("field \"" + field + "\" must be a string or an integer, found " + JsonLines.describe(value));
        }
        return "line " + line.number();
    }

    /** The user turns of a chat log; other roles' messages are dropped, a system message is refused. */
    private static List<String> userTurns(JsonLines.Line line, String field, String roleKey, String textKey,
            List<String> userRoles, List<String> assistantRoles) {
        JsonElement value = line.object().get(field);
        if (!(value instanceof JsonArray array)) {
            throw line.error("field \"" + field + "\" must be an array of messages, found " + JsonLines.describe(value));
        }
        List<String> turns = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            String where = "\"" + field + "\"[" + i + "]";
            if (!(array.get(i) instanceof JsonObject message)) {
                throw line.error(where + " must be an object, found " + JsonLines.describe(array.get(i)));
            }
            JsonElement role = message.get(roleKey);
            JsonElement text = message.get(textKey);
            if (!(role instanceof JsonPrimitive r) || !r.isString()) {
                throw line.error(where + " has no string \"" + roleKey + "\"");
            }
            if (!(text instanceof JsonPrimitive t) || !t.isString()) {
                throw line.error(where + " has no string \"" + textKey + "\"");
            }
            String who = r.getAsString();
            if (userRoles.contains(who)) {
                turns.add(t.getAsString());
            } else if (!assistantRoles.contains(who)) {
                throw line.error(where + " has " + roleKey + " \"" + who + "\"; expected one of " + userRoles + " or "
                        + assistantRoles + (who.equals("system") ? " (system prompts are not supported in prompt sets)" : ""));
            }
        }
        return turns;
    }
}
