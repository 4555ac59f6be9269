"""A tiny CNN so end-to-end tests train in a second on a CPU."""
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, n_classes: int = 2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.fc = nn.Linear(8, n_classes)

    def forward(self, x):
        return self.fc(self.features(x))
