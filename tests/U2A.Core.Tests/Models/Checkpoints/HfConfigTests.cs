using System.Text.Json.Nodes;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Llama;

namespace U2A.Core.Tests.Models.Checkpoints;

public class HfConfigTests
{
    [Fact]
    public void A_config_built_in_code_parses_like_one_read_from_text()
    {
        var text = """{"model_type":"qwen2","vocab_size":50,"hidden_size":16,"intermediate_size":24,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"max_position_embeddings":64,"rms_norm_eps":1e-6,"rope_theta":10000.0}""";
        var fromText = (LlamaConfig)HfConfig.Parse(JsonNode.Parse(text)!.AsObject(), "text");
        var built = JsonNode.Parse(text)!.AsObject();
        built["num_attention_heads"] = 2;     // .NET values (not parsed JSON elements), as code that edits a config sets them
        built["rope_theta"] = 10000.0;
        built["vocab_size"] = 50L;
        var fromCode = (LlamaConfig)HfConfig.Parse(built, "code");
        Assert.Equal(fromText, fromCode);
        built["num_attention_heads"] = 2.5;
        Assert.Contains("num_attention_heads", Assert.Throws<InvalidDataException>(() => HfConfig.Parse(built, "code")).Message);
    }
}
