namespace Transformers.Tokenizer; public static class Placeholder {}
