import type { I18nText } from "./schema.js";

/**
 * The parameter-rule templates a model's `use_template: <name>` refers to: values the Go daemon copies into the rule
 * (where the rule leaves them unset) while decoding. These are its values, so Dify shows the same labels and limits.
 */
export interface ParameterTemplate {
  readonly type: string;
  readonly help: I18nText;
  readonly default?: unknown;
  readonly min?: number;
  readonly max?: number;
  readonly precision?: number;
  readonly options?: readonly string[];
}

export const PARAMETER_TEMPLATES: Readonly<Record<string, ParameterTemplate>> = {
  temperature: {
    type: "float",
    help: {
      en_US:
        "Controls randomness. Lower temperature results in less random completions. As the temperature approaches zero, the model will become deterministic and repetitive. Higher temperature results in more random completions.",
      ja_JP:
        "温度はランダム性を制御します。温度が低いほどランダムな完成が少なくなります。温度がゼロに近づくと、モデルは決定論的で繰り返しになります。温度が高いほどランダムな完成が多くなります。",
      zh_Hans:
        "温度控制随机性。较低的温度会导致较少的随机完成。随着温度接近零，模型将变得确定性和重复性。较高的温度会导致更多的随机完成。",
      pt_BR:
        "A temperatura controla a aleatoriedade. Menores temperaturas resultam em menos conclusões aleatórias. À medida que a temperatura se aproxima de zero, o modelo se tornará determinístico e repetitivo. Temperaturas mais altas resultam em mais conclusões aleatórias.",
    },
    default: 0,
    min: 0,
    max: 1,
    precision: 2,
  },
  top_p: {
    type: "float",
    help: {
      en_US: "Controls diversity via nucleus sampling: 0.5 means half of all likelihood-weighted options are considered.",
      ja_JP: "核サンプリングを通じて多様性を制御します：0.5は、すべての可能性加权オプションの半分を考慮します。",
      zh_Hans: "通过核心采样控制多样性：0.5表示考虑了一半的所有可能性加权选项。",
      pt_BR:
        "Controla a diversidade via amostragem de núcleo: 0.5 significa que metade das opções com maior probabilidade são consideradas.",
    },
    default: 1,
    min: 0,
    max: 1,
    precision: 2,
  },
  top_k: {
    type: "int",
    help: {
      en_US: "Limits the number of tokens to consider for each step by keeping only the k most likely tokens.",
      zh_Hans: "通过只保留每一步中最可能的 k 个标记来限制要考虑的标记数量。",
    },
    default: 50,
    min: 1,
    max: 100,
    precision: 0,
  },
  presence_penalty: {
    type: "float",
    help: {
      en_US: "Applies a penalty to the log-probability of tokens already in the text.",
      ja_JP: "テキストに既に存在するトークンの対数確率にペナルティを適用します。",
      zh_Hans: "对文本中已有的标记的对数概率施加惩罚。",
      pt_BR: "Aplica uma penalidade à probabilidade logarítmica de tokens já presentes no texto.",
    },
    default: 0,
    min: 0,
    max: 1,
    precision: 2,
  },
  frequency_penalty: {
    type: "float",
    help: {
      en_US: "Applies a penalty to the log-probability of tokens that appear in the text.",
      ja_JP: "テキストに出現するトークンの対数確率にペナルティを適用します。",
      zh_Hans: "对文本中出现的标记的对数概率施加惩罚。",
      pt_BR: "Aplica uma penalidade à probabilidade logarítmica de tokens que aparecem no texto.",
    },
    default: 0,
    min: 0,
    max: 1,
    precision: 2,
  },
  max_tokens: {
    type: "int",
    help: {
      en_US:
        "Specifies the upper limit on the length of generated results. If the generated results are truncated, you can increase this parameter.",
      ja_JP:
        "生成結果の長さの上限を指定します。生成結果が切り捨てられた場合は、このパラメータを大きくすることができます。",
      zh_Hans: "指定生成结果长度的上限。如果生成结果截断，可以调大该参数。",
      pt_BR:
        "Especifica o limite superior para o comprimento dos resultados gerados. Se os resultados gerados forem truncados, você pode aumentar este parâmetro.",
    },
    default: 64,
    min: 1,
    max: 2048,
    precision: 0,
  },
  response_format: {
    type: "string",
    help: {
      en_US:
        "Set a response format, ensure the output from llm is a valid code block as possible, such as JSON, XML, etc.",
      ja_JP: "応答形式を設定します。llmの出力が可能な限り有効なコードブロックであることを確認します。",
      zh_Hans: "设置一个返回格式，确保llm的输出尽可能是有效的代码块，如JSON、XML等",
      pt_BR:
        "Defina um formato de resposta para garantir que a saída do llm seja um bloco de código válido o mais possível, como JSON, XML, etc.",
    },
    options: ["JSON", "XML"],
  },
  json_schema: {
    type: "string",
    help: {
      en_US: "Set a response json schema will ensure LLM to adhere it.",
      zh_Hans: "设置返回的json schema，llm将按照它返回",
    },
  },
};
