"""A model folder loaded with the LLaMA-Factory template it is trained with: the tokenizer,
stop and padding ids, and prompts encoded exactly as training encodes them."""


def load_template(tokenizer, name):
    """LLaMA-Factory's Template object, the one training encodes with."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    return get_template_and_fix_tokenizer(tokenizer, DataArguments(template=name))


def encode_prompt(template, tokenizer, prompt):
    """Token ids of one user prompt exactly as SFT training encodes an alpaca instruction."""
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": ""}]
    prompt_ids, _ = template.encode_oneturn(tokenizer, messages)
    return prompt_ids


class BadMessages(ValueError):
    """Chat messages that the template cannot encode."""


class ModelRuntime:
    """Tokenizer and template now, the model on first use (`model`)."""

    def __init__(self, model_dir, template_name, dtype="auto", device=None):
        from transformers import AutoTokenizer

        self.model_dir, self.dtype, self._device = model_dir, dtype, device
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.template = load_template(self.tokenizer, template_name)
        self.stop_ids = self.template.get_stop_token_ids(self.tokenizer)
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.stop_ids[0]
        self._model = None

    @property
    def device(self):
        import torch

        if self._device is None:
            self._device = "cuda" if torch.cuda.is_available() else "cpu"
        return self._device

    def load(self, wrap=None):
        """The model in eval mode on `device`; `wrap(model)` first (a LoRA adapter, say).
        dtype auto: bfloat16 on a GPU, float32 on a CPU (exact, and what the tests compare);
        `folder`: the dtype the folder was written in."""
        import torch
        from transformers import AutoModelForCausalLM

        if self._model is None:
            if self.dtype == "folder":
                dtype = "auto"
            else:
                name = self.dtype if self.dtype != "auto" else ("bfloat16" if self.device == "cuda" else "float32")
                dtype = getattr(torch, name)
            model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=dtype)
            if wrap is not None:
                model = wrap(model)
            self._model = model.to(self.device).eval()
        return self._model

    @property
    def model(self):
        return self.load()

    def encode_chat(self, messages):
        """Token ids of OpenAI-style chat messages (an optional system message first, a user
        message last), ready for the assistant's answer."""
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        ):
            raise BadMessages("messages must be a list of {role, content} objects with text content")
        system = None
        if messages and messages[0]["role"] == "system":
            system, messages = messages[0]["content"], messages[1:]
        if not messages or messages[-1]["role"] != "user":
            raise BadMessages("messages must end with a user message")
        turns = [{"role": m["role"], "content": m["content"]} for m in messages]
        prompt_ids, _ = self.template.encode_oneturn(
            self.tokenizer, [*turns, {"role": "assistant", "content": ""}], system=system
        )
        return prompt_ids

    def decode(self, ids):
        """Text of generated ids, cut at the first stop token."""
        stop = set(self.stop_ids)
        cut = next((i for i, token in enumerate(ids) if token in stop), len(ids))
        return self.tokenizer.decode(ids[:cut], skip_special_tokens=True)
