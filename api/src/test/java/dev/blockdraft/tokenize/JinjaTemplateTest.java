package dev.blockdraft.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Year;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Jinja constructs of Hugging Face chat templates, rendered by Jinjava; every expected text was
 * rendered by Python's Jinja2 3.1.6 configured as transformers configures it
 * (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols).
 */
class JinjaTemplateTest {

    private static final List<Map<String, Object>> MESSAGES = List.of(
            Map.of("role", "system", "content", "Be brief. "),
            Map.of("role", "user", "content", "  Hi  "),
            Map.of("role", "assistant", "content", "Hello!"),
            Map.of("role", "user", "content", "2+2?"));

    private static String render(String template, Map<String, Object> variables) {
        return new JinjaTemplate(template, "test").render(variables);
    }

    @Test
    void llama3TemplateWithFilterPrecedence() {
        // Meta-Llama-3-8B-Instruct's chat_template: "| trim" binds tighter than "+"
        String llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
                + "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
                + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
                + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
                + "Hello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                render(llama3, Map.of("messages", MESSAGES, "add_generation_prompt", true, "bos_token", "<|begin_of_text|>")));
    }

    @Test
    void pythonStringMethods() {
        assertEquals("a|b||c;x;x--;x;yes;3", render("{{ 'a,b,,c'.split(',')|join('|') }};{{ '  x \\n'.strip() }};"
                + "{{ '--x--'.lstrip('-') }};{{ 'x\\n\\n'.rstrip('\\n') }};"
                + "{% if 'Hello'.startswith('He') and 'Hello'.endswith('lo') %}yes{% endif %};{{ 'a b  c'.split()|length }}",
                Map.of()));
    }

    @Test
    void reversedListAndNamespaceArithmetic() {
        assertEquals("3", render("{% set ns = namespace(last=messages|length - 1, found=false) %}"
                + "{% for m in messages[::-1] %}{% if not ns.found and m.role == 'user' %}{% set ns.found = true %}"
                + "{% set ns.last = (messages|length - 1) - loop.index0 %}{% endif %}{% endfor %}{{ ns.last }}",
                Map.of("messages", MESSAGES)));
    }

    @Test
    void blocksAreTrimmedAndLeftStripped() {
        assertEquals("[  Hi  ]\n[2+2?]\nend", render("{% for m in messages %}\n  {% if m.role == 'user' %}\n"
                + "[{{ m.content }}]\n  {% endif %}\n{% endfor %}\nend", Map.of("messages", MESSAGES)));
    }

    @Test
    void strftimeNowIsDefinedAsInTransformers() {
        assertEquals(Integer.toString(Year.now().getValue()),
                render("{% if strftime_now is defined %}{{ strftime_now('%Y') }}{% else %}none{% endif %}", Map.of()));
    }

    @Test
    void templateErrorsNameTheSourceAndLine() {
        TokenizerException error = assertThrows(TokenizerException.class,
                () -> new JinjaTemplate("line one\n{{ messages[ }}", "dir/tokenizer_config.json").render(Map.of()));
        assertTrue(error.getMessage().startsWith("dir/tokenizer_config.json: chat template line 2: "), error.getMessage());
        TokenizerException raised = assertThrows(TokenizerException.class,
                () -> render("{{ raise_exception('Conversation roles must alternate') }}", Map.of()));
        assertEquals("test: the chat template refused the conversation: Conversation roles must alternate", raised.getMessage());
    }
}
