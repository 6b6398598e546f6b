using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.AspNetCore.Routing.Patterns;

namespace VisualGen.Server.Api;

/// <summary>
/// A route value that is none of the given path segments. Routing matches a path before its method, so an {id} route
/// beside a POST-only literal one (GET and DELETE /v1/videos/{id} beside POST /v1/videos/generations) took that
/// literal's other methods and looked up a video named 'generations' (404). As a literal-matching policy the constraint
/// keeps the {id} routes off the literal's path when routing is built, so routing answers its other methods 405
/// method_not_allowed with an Allow header naming POST alone, as it does GET /v1/images/generations.
/// </summary>
public sealed class ExceptRouteConstraint(IReadOnlyCollection<string> segments) : IRouteConstraint, IParameterLiteralNodeMatchingPolicy
{
    // routing matches literal segments case-insensitively: /v1/videos/Generations is the POST route too
    readonly HashSet<string> _segments = new(segments, StringComparer.OrdinalIgnoreCase);

    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) =>
        !(values.TryGetValue(routeKey, out var value) && value is string s && _segments.Contains(s));

    public bool MatchesLiteral(string parameterName, string literal) => !_segments.Contains(literal);

    /// <summary><paramref name="template"/> (with an {id} parameter) whose id is none of <paramref name="literals"/>;
    /// its text stays the template, which /metrics labels requests with.</summary>
    public static RoutePattern Id(string template, params string[] literals) =>
        RoutePatternFactory.Parse(template, defaults: null, parameterPolicies: new RouteValueDictionary { ["id"] = new ExceptRouteConstraint(literals) });
}
