namespace Transformers; public static class Placeholder {}
