// sage-prepass-i8.patch's INT8 codes on the CPU: the product x·inv rounded to fp32, plus 1.5·2^23, its low byte read as
// int8, against round-to-nearest-even of the product clamped to ±127 (what __float2int_rn and the clamps gave), over
// 20 million random values and scales, a seventh of them at ±amax exactly.
//
//   gcc -O1 -o /tmp/i8_rounding_sim tools/device/experiments/i8_rounding_sim.c -lm && /tmp/i8_rounding_sim
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
int main(){ long bad=0,n=0; srand(3);
  for(long i=0;i<20000000;i++){
    float amax=ldexpf((float)rand()/RAND_MAX+0.5f, rand()%40-20);
    float inv=127.0f/amax;
    float x=((float)rand()/RAND_MAX*2-1)*amax; if(i%7==0)x=(i%14==0)?amax:-amax;
    float p=x*inv;
    int ref=(int)nearbyintf(p); if(ref>127)ref=127; if(ref<-127)ref=-127;
    float t=p+12582912.0f; uint32_t u; memcpy(&u,&t,4); int8_t code=(int8_t)(u&0xFF);
    if(code!=ref)bad++; n++;
  }
  printf("i8 magic vs rn+clamp: %ld of %ld differ\n",bad,n);
}
