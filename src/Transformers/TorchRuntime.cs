namespace Transformers;

/// <summary>Raised when libtorch / LibTorchSharp cannot be loaded; the message says what is missing and what to do.</summary>
public sealed class TorchRuntimeException(string message, Exception? inner = null) : Exception(message, inner);
