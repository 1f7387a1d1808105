/// The seven task forces (工作专班) of the policy, plus `triage` for problems a person
/// must route. Raw values are the queue names.
package enum TaskForce: String, Sendable, CaseIterable, Codable, Comparable {
    case tax, credit, legal, infrastructure, financing, innovation, foreign
    /// Fits none of the seven, or the classifier is unsure: a person routes it.
    case triage

    /// The seven task forces, without `triage`.
    package static let departments: [TaskForce] = [.tax, .credit, .legal, .infrastructure, .financing, .innovation, .foreign]

    /// Parses a key, ignoring case and surrounding spaces.
    /// - Throws: ``TaskForcesError`` listing the valid keys.
    package init(parsing text: String) throws {
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard let value = TaskForce(rawValue: key) else { throw TaskForcesError.unknownTaskForce(text) }
        self = value
    }

    /// The task force's name as the policy writes it.
    package var chineseName: String {
        switch self {
        case .tax: return "税费问题工作专班"
        case .credit: return "政府诚信问题工作专班"
        case .legal: return "涉法涉诉问题工作专班"
        case .infrastructure: return "城市建设(基础设施要素保障)问题工作专班"
        case .financing: return "企业融资问题工作专班"
        case .innovation: return "科技创新问题工作专班"
        case .foreign: return "外企服务问题工作专班"
        case .triage: return "人工分拨"
        }
    }

    /// A short English name.
    package var englishName: String {
        switch self {
        case .tax: return "Tax and fees"
        case .credit: return "Government integrity"
        case .legal: return "Law-related and litigation"
        case .infrastructure: return "Infrastructure and production factors"
        case .financing: return "Enterprise financing"
        case .innovation: return "Science and technology innovation"
        case .foreign: return "Foreign-enterprise services"
        case .triage: return "Triage (manual routing)"
        }
    }

    package static func < (lhs: TaskForce, rhs: TaskForce) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

import Foundation

extension String {
    /// Whether `other` occurs in this string, compared byte for byte (UTF-8). Much
    /// faster than Foundation's `contains`, which folds and compares with a locale; use
    /// it on normalised text, where an exact match is what is meant.
    package func containsExactly(_ other: String) -> Bool {
        var haystack = self
        var needle = other
        return haystack.withUTF8 { text in
            needle.withUTF8 { pattern in
                guard !pattern.isEmpty else { return true }
                guard pattern.count <= text.count, let textBase = text.baseAddress, let patternBase = pattern.baseAddress else { return false }
                let first = pattern[0]
                var index = 0
                let last = text.count - pattern.count
                while index <= last {
                    if text[index] == first, memcmp(textBase + index, patternBase, pattern.count) == 0 { return true }
                    index += 1
                }
                return false
            }
        }
    }
}
