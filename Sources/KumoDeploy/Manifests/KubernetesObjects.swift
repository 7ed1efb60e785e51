/// The part of Kubernetes' object model the manifests use, as `Encodable` values: every field
/// spelled as the API spells it, optional fields left out when `nil`.
enum K8s {
    struct Metadata: Encodable {
        var name: String
        var labels: [String: String]? = nil
        var annotations: [String: String]? = nil
    }

    struct LabelSelector: Encodable {
        var matchLabels: [String: String]
    }

    // MARK: Workloads

    struct StatefulSet: Encodable {
        let apiVersion = "apps/v1"
        let kind = "StatefulSet"
        var metadata: Metadata
        var spec: Spec

        struct Spec: Encodable {
            var serviceName: String
            var replicas: Int
            var podManagementPolicy = "Parallel"
            var selector: LabelSelector
            var template: PodTemplate
            var volumeClaimTemplates: [PersistentVolumeClaim]? = nil
        }
    }

    struct Deployment: Encodable {
        let apiVersion = "apps/v1"
        let kind = "Deployment"
        var metadata: Metadata
        var spec: Spec

        struct Spec: Encodable {
            var replicas: Int
            var selector: LabelSelector
            var template: PodTemplate
        }
    }

    struct PodTemplate: Encodable {
        var metadata: Metadata
        var spec: PodSpec
    }

    struct PodSpec: Encodable {
        var serviceAccountName: String
        var automountServiceAccountToken = false
        var terminationGracePeriodSeconds: Int
        var imagePullSecrets: [NameReference]? = nil
        var containers: [Container]
    }

    struct NameReference: Encodable {
        var name: String
    }

    struct Container: Encodable {
        var name: String
        var image: String
        var command: [String]? = nil
        var args: [String]
        var ports: [ContainerPort]
        var env: [EnvVar]
        var resources: Resources? = nil
        var readinessProbe: Probe? = nil
        var livenessProbe: Probe? = nil
        var lifecycle: Lifecycle? = nil
        var volumeMounts: [VolumeMount]? = nil
        var securityContext = SecurityContext()
    }

    struct SecurityContext: Encodable {
        var runAsNonRoot = true
        var runAsUser = 10001
        var allowPrivilegeEscalation = false
        var readOnlyRootFilesystem = true
    }

    struct ContainerPort: Encodable {
        var name: String
        var containerPort: Int
        var `protocol` = "TCP"
    }

    struct EnvVar: Encodable {
        var name: String
        var value: String? = nil
        var valueFrom: Source? = nil

        struct Source: Encodable {
            var secretKeyRef: SecretKeySelector? = nil
            var fieldRef: FieldSelector? = nil
        }

        struct SecretKeySelector: Encodable {
            var name: String
            var key: String
        }

        struct FieldSelector: Encodable {
            var fieldPath: String
        }
    }

    struct Resources: Encodable {
        var requests: [String: String]? = nil
        var limits: [String: String]? = nil
    }

    struct Probe: Encodable {
        var httpGet: HTTPGet
        var initialDelaySeconds: Int? = nil
        var periodSeconds: Int
        var timeoutSeconds: Int
        var failureThreshold: Int
    }

    struct HTTPGet: Encodable {
        var path: String
        var port: String
    }

    struct Lifecycle: Encodable {
        var preStop: Handler

        struct Handler: Encodable {
            var httpGet: HTTPGet
        }
    }

    struct VolumeMount: Encodable {
        var name: String
        var mountPath: String
    }

    struct PersistentVolumeClaim: Encodable {
        var metadata: Metadata
        var spec: Spec

        struct Spec: Encodable {
            var accessModes: [String]
            var storageClassName: String? = nil
            var resources: Resources
        }
    }

    // MARK: Services and policy

    struct Service: Encodable {
        let apiVersion = "v1"
        let kind = "Service"
        var metadata: Metadata
        var spec: Spec

        struct Spec: Encodable {
            var type: String? = nil
            var clusterIP: String? = nil
            var publishNotReadyAddresses: Bool? = nil
            var selector: [String: String]
            var ports: [ServicePort]
        }
    }

    struct ServicePort: Encodable {
        var name: String
        var port: Int
        var targetPort: String
        var `protocol` = "TCP"
    }

    struct PodDisruptionBudget: Encodable {
        let apiVersion = "policy/v1"
        let kind = "PodDisruptionBudget"
        var metadata: Metadata
        var spec: Spec

        struct Spec: Encodable {
            var maxUnavailable: Int
            var selector: LabelSelector
        }
    }

    struct ServiceAccount: Encodable {
        let apiVersion = "v1"
        let kind = "ServiceAccount"
        var metadata: Metadata
        var automountServiceAccountToken = false
    }
}
