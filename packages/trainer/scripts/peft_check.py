"""Does PEFT load our adapter, and does it compute what our trainer computes? (needs torch, transformers,
peft, safetensors: the GPU machine has them). Loads MODEL + ADAPTER with PeftModel.from_pretrained,
checks every LoRA tensor PEFT holds equals the file's, then compares greedy generation of each eval
prompt with the `prediction` events our trainer printed (fp32, exact ids).
Usage: python3 peft_check.py MODEL_DIR ADAPTER_DIR EVAL_JSONL TRAINER_STDOUT"""
import json, sys
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
from peft import PeftModel

model_dir, adapter_dir, eval_jsonl, trainer_out = sys.argv[1:5]
base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
model = PeftModel.from_pretrained(base, adapter_dir).eval()
eos = base.config.eos_token_id

# 1. every tensor of the adapter file is in the model, unchanged, and PEFT has no LoRA tensor the file lacks
saved = load_file(f"{adapter_dir}/adapter_model.safetensors")
held = {k.replace(".default", ""): v for k, v in model.state_dict().items() if "lora_" in k}
assert set(saved) == set(held), f"key sets differ: only in file {sorted(set(saved) - set(held))[:3]}, only in PEFT {sorted(set(held) - set(saved))[:3]}"
worst = max((saved[k].float() - held[k].float()).abs().max().item() for k in saved)
nonzero_b = sum(int(saved[k].abs().sum() > 0) for k in saved if "lora_B" in k)
print(f"adapter: {len(saved)} tensors loaded by PeftModel.from_pretrained, max |diff| {worst:.3g}, {nonzero_b} trained B matrices non-zero")
assert worst == 0.0 and nonzero_b > 0

# 2. greedy ids: ours (trainer stdout) vs PEFT's generate
rows = [json.loads(l) for l in open(eval_jsonl)]
preds = [e for e in (json.loads(l) for l in open(trainer_out) if l.startswith("{")) if e.get("event") == "prediction"]
assert preds, "no prediction events in the trainer output"
same = 0
for p in preds:
    r = rows[p["index"]]
    n = next(i for i, x in enumerate(r["labels"]) if x != -100)
    prompt = torch.tensor([r["input_ids"][:n]])
    with torch.no_grad():
        out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=len(p["output_ids"]) + 1,
                             do_sample=False, eos_token_id=eos, pad_token_id=base.config.pad_token_id)
    theirs = [t for t in out[0, n:].tolist()][: len(p["output_ids"])]
    ok = theirs == p["output_ids"]
    same += ok
    if not ok: print(f"sample {p['index']}: ours {p['output_ids']} PEFT {theirs}")
print(f"greedy generation: {same}/{len(preds)} samples give identical ids (ours vs transformers + PEFT, fp32)")
sys.exit(0 if same == len(preds) else 1)
