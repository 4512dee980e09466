using System.Text.Json;
using System.Text.Json.Serialization;

namespace Transformers;

/// <summary>
/// Writes an enum member by its name in kebab case (LuongGeneral -> "luong-general", InverseSqrt -> "inverse-sqrt"), the
/// name the command line takes for it (<see cref="Training.RunSettings.OptionName"/>); reads it in any case. A member
/// with a <see cref="JsonStringEnumMemberNameAttribute"/> keeps that name instead.
/// </summary>
public sealed class KebabCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.KebabCaseLower)
    where TEnum : struct, Enum;
