using TorchSharp;
using U2A.Core;
using static TorchSharp.torch;

// Foundation check of the main job: TorchSharp initialises, a tiny causal-LM-shaped network runs forward and backward.
var device = cuda.is_available() ? CUDA : CPU;
Console.WriteLine($"U2A.Core {LibraryInfo.Version} on TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {torch.__version__}), device {device}");
torch.manual_seed(0);
const int vocab = 32, width = 16, length = 8, batch = 4;
using var scope = NewDisposeScope();
var embed = randn(vocab, width, device: device).mul_(0.1).requires_grad_();
var wq = randn(width, width, device: device).mul_(0.1).requires_grad_();
var wk = randn(width, width, device: device).mul_(0.1).requires_grad_();
var wv = randn(width, width, device: device).mul_(0.1).requires_grad_();
var head = randn(vocab, width, device: device).mul_(0.1).requires_grad_();
var tokens = randint(0, vocab, new long[] { batch, length }, device: device);
var h = embed.index_select(0, tokens.reshape(-1)).reshape(batch, length, width);
h = nn.functional.layer_norm(h, new long[] { width });
var q = h.matmul(wq); var k = h.matmul(wk); var v = h.matmul(wv);
var causal = ones(length, length, device: device, dtype: ScalarType.Bool).tril().logical_not();
var att = q.matmul(k.transpose(1, 2)).div(Math.Sqrt(width)).masked_fill(causal, double.NegativeInfinity).softmax(-1);
var logits = h.add(att.matmul(v)).matmul(head.t());
var loss = nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, vocab), tokens[.., 1..].reshape(-1));
loss.backward();
double gradNorm = Math.Sqrt(new[] { embed, wq, wk, wv, head }.Sum(p => p.grad!.pow(2).sum().item<float>()));
Console.WriteLine($"next-token loss {loss.item<float>():F4} (ln {vocab} = {Math.Log(vocab):F4}), gradient norm {gradNorm:F4}");
