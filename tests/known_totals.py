"""Published parameter totals of the fixture configs (Hub safetensors totals), shared by the counting tests."""

KNOWN_TOTALS = {
    "meta-llama__Llama-2-7b-hf": 6_738_415_616,
    "meta-llama__Llama-3.1-8B": 8_030_261_248,
    "mistralai__Mistral-7B-v0.1": 7_241_732_096,
    "openai-community__gpt2": 124_439_808,
    "Qwen__Qwen3-8B": 8_190_735_360,
    "mistralai__Mixtral-8x7B-v0.1": 46_702_792_704,
    "google__gemma-2-2b": 2_614_341_888,
    "Qwen__Qwen2-0.5B": 494_032_768,
    "TinyLlama__TinyLlama-1.1B-Chat-v1.0": 1_100_048_384,
    "deepseek-ai__DeepSeek-V3": 671_026_419_200,  # without the MTP layer
    "openai__gpt-oss-20b": 20_914_757_184,
    "microsoft__phi-2": 2_779_683_840,
}
