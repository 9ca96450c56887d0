package dev.blockdraft.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {

    private static Tokenizer tokenizer;
    private static ChatTemplate template;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TrainedTokenizer.DIR);
        template = new ChatTemplate(tokenizer);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static long count(int[] ids, int id) {
        return Arrays.stream(ids).filter(i -> i == id).count();
    }

    @Test
    void singleTurnPromptEndsReadyForTheAssistant() {
        int[] ids = template.promptIds(List.of(), "What is 2 + 3?");
        int[] question = tokenizer.encode("What is 2 + 3?");
        assertEquals(question.length + 4, ids.length);
        assertEquals(0, ids[0]); // <|begin_of_text|>
        assertEquals(2, ids[1]); // <|user|>
        assertArrayEquals(question, Arrays.copyOfRange(ids, 2, 2 + question.length));
        assertEquals(4, ids[ids.length - 2]); // <|end_of_turn|>
        assertEquals(3, ids[ids.length - 1]); // <|assistant|>
        assertEquals("<|begin_of_text|><|user|>What is 2 + 3?<|end_of_turn|><|assistant|>", tokenizer.decode(ids));
    }

    @Test
    void multiTurnPromptRepeatsTheTurnLayout() {
        List<ChatTemplate.Turn> history = List.of(new ChatTemplate.Turn("Hi", "Hello!"), new ChatTemplate.Turn("Add 1+1", "2"));
        int[] ids = template.promptIds(history, "Now 2+2?");
        assertEquals(1, count(ids, tokenizer.bosId()));
        assertEquals(3, count(ids, tokenizer.userId()));
        assertEquals(3, count(ids, tokenizer.assistantId()));
        assertEquals(5, count(ids, tokenizer.eosId()));
        List<ChatTemplate.Message> messages = ChatTemplate.messages(null, history);
        messages.add(ChatTemplate.Message.user("Now 2+2?"));
        assertEquals(template.render(messages, true), tokenizer.decode(ids));
        assertEquals("<|begin_of_text|><|user|>Hi<|end_of_turn|><|assistant|>Hello!<|end_of_turn|>"
                + "<|user|>Add 1+1<|end_of_turn|><|assistant|>2<|end_of_turn|><|user|>Now 2+2?<|end_of_turn|><|assistant|>",
                tokenizer.decode(ids));
    }

    @Test
    void exampleMarksWhereTheResponseStarts() {
        ChatTemplate.EncodedExample example = template.encodeExample("Name a prime.", "7 is prime.");
        int[] prompt = template.promptIds(List.of(), "Name a prime.");
        assertArrayEquals(prompt, Arrays.copyOfRange(example.ids(), 0, example.responseStart()));
        int[] response = Arrays.copyOfRange(example.ids(), example.responseStart(), example.ids().length - 1);
        assertEquals("7 is prime.", tokenizer.decode(response));
        assertEquals(tokenizer.encode("7 is prime.").length + 1, example.responseLength());
        assertEquals(tokenizer.eosId(), example.ids()[example.ids().length - 1]);
        assertEquals(tokenizer.assistantId(), example.ids()[example.responseStart() - 1]);
    }

    @Test
    void multiTurnExampleTrainsOnlyTheLastResponse() {
        List<ChatTemplate.Turn> history = List.of(new ChatTemplate.Turn("Write a poem.", "Roses are red."));
        ChatTemplate.EncodedExample example = template.encodeExample(history, "Shorter?", "Red.");
        assertEquals(template.promptIds(history, "Shorter?").length, example.responseStart());
        assertEquals("Red.<|end_of_turn|>",
                tokenizer.decode(Arrays.copyOfRange(example.ids(), example.responseStart(), example.ids().length)));
    }

    @Test
    void emptyResponseStillEndsTheTurn() {
        ChatTemplate.EncodedExample example = template.encodeExample("Say nothing.", "");
        assertEquals(1, example.responseLength());
        assertEquals(tokenizer.eosId(), example.ids()[example.responseStart()]);
    }

    @Test
    void systemPromptFollowsBeginOfTextAndEndsItsTurn() {
        int[] ids = template.promptIds("Be brief.", List.of(), "Hi");
        assertEquals("<|begin_of_text|>Be brief.<|end_of_turn|><|user|>Hi<|end_of_turn|><|assistant|>", tokenizer.decode(ids));
    }

    @Test
    void trainedTokenizersCarryTheTemplateInTheirConfig() {
        assertEquals(ChatTemplate.BLOCKDRAFT, tokenizer.config().chatTemplate());
        assertEquals(tokenizer.source().resolveSibling("tokenizer_config.json").toString(), template.origin());
    }

    @Test
    void templateSyntaxInsideMessagesIsLeftAsText() {
        String code = "if: ${{ github.event_name != 'pull_request' && x }} {% if a %}b{% endif %} {# c #}";
        assertEquals("<|begin_of_text|><|user|>" + code + "<|end_of_turn|><|assistant|>",
                template.render(List.of(ChatTemplate.Message.user(code)), true));
    }

    @Test
    void unknownRoleIsRefusedByTheTemplate() {
        TokenizerException error = assertThrows(TokenizerException.class,
                () -> template.render(List.of(new ChatTemplate.Message("tool", "{}")), false));
        assertTrue(error.getMessage().endsWith("the chat template refused the conversation: blockdraft chat template: unknown role tool"),
                error.getMessage());
    }

    @Test
    void responseStartOutsideTheIdsIsRejected() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> new ChatTemplate.EncodedExample(new int[3], 4));
        assertEquals("responseStart must be in [0, 3], was 4", error.getMessage());
    }
}
