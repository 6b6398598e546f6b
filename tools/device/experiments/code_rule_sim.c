// sage-codes.patch's code rule for P (variant 2 and up) on the CPU: the kernel's fp32 formulas with fmaf (one rounding,
// as the FMA pipe), against the ideal code round(8·(y + 7) − 0.459) clamped to 0 .. 126, for scales c = q_scale·k_scale
// from 1e-4 to 2 and random int32 scores. "old128" is the first rule (t = 1.5·2^23 + 128·yn), "new126" the patch's
// (t = 1.5·2^23 + 126·yn, the saturation of yn being the clamp at code 126): the old one gives codes >= 127 (NaN, -0)
// from c ~ 0.08 on, the new one none. Last, the kept kernel's float path at large scales: no NaN P, but rows whose every
// P rounds to 0 (l = 0) from c ~ 256.
//
//   gcc -O1 -o /tmp/code_rule_sim tools/device/experiments/code_rule_sim.c -lm && /tmp/code_rule_sim
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
static float bits_f(uint32_t u){float f;memcpy(&f,&u,4);return f;}
static uint32_t f_bits(float f){uint32_t u;memcpy(&u,&f,4);return u;}
static float sat(float x){return x<0?0:(x>1?1:x);}
int main(){
  const float MAGIC=12582912.0f,L=8.807354922057604f,D=0.459f;
  srand(1);
  for(int variant=0;variant<2;variant++){
    long bad=0,nan=0,total=0;int worst=0;
    float cl[]={1e-4f,1e-3f,5e-3f,0.01f,0.02f,0.04f,0.08f,0.16f,0.5f,2.0f};
    for(int ci=0;ci<10;ci++){ float c=cl[ci];
      for(int trial=0;trial<2000;trial++){
        int s[192]; int smax=-(1<<30);
        int range = 1<<(1+rand()%21);
        for(int i=0;i<192;i++){s[i]=(rand()%(2*range))-range; if(s[i]>smax)smax=s[i];}
        float m=(float)smax*c;
        for(int i=0;i<192;i++){
          float x=bits_f((uint32_t)(s[i]+0x4B400000));
          float yn,t;
          if(variant==0){ float cs=c*(1.0f/16.0f); float bs=(7.0f-D/8.0f-fmaf(MAGIC,c,m-L))*(1.0f/16.0f);
            yn=sat(fmaf(x,cs,bs)); t=fmaf(yn,128.0f,MAGIC);}
          else { float cs=c*(8.0f/126.0f); float bs=fmaf(-MAGIC,cs,(8.0f*(7.0f+L-m)-D)*(1.0f/126.0f));
            yn=sat(fmaf(x,cs,bs)); t=fmaf(yn,126.0f,MAGIC);}
          int code=f_bits(t)&0xFF;
          double y=(double)s[i]*c-(double)m+(double)L;
          double id=nearbyint(8*(y+7)-0.459); if(id<0)id=0; if(id>126)id=126;
          int d=abs(code-(int)id); if(d>worst)worst=d; if(d)bad++; if(code>=127)nan++; total++;
        }
      }
      printf("%s c=%g: off %ld of %ld, worst %d, codes>=127 %ld\n",variant?"new126":"old128",c,bad,total,worst,nan);
      bad=0;nan=0;total=0;worst=0;
    }
  }
  // the kept kernel's float path: P = the bits of (1.5·2^23 + 2048·yn) << 20, yn = sat(x·c/256 + bias), converted to
  // e4m3 with satfinite after: the largest P of a row and the rows where every P is 0 (l = 0: the output NaN)
  float cl2[]={0.01f,1.0f,16.0f,64.0f,128.0f,256.0f,512.0f};
  for(int ci=0;ci<7;ci++){ float c=cl2[ci]; float pmax=0; long rowzero=0;
    for(int trial=0;trial<2000;trial++){
      int s[192]; int smax=-(1<<30); int range=1<<(1+rand()%21);
      for(int i=0;i<192;i++){s[i]=(rand()%(2*range))-range; if(s[i]>smax)smax=s[i];}
      float m=(float)smax*c, rowsum=0;
      for(int i=0;i<192;i++){
        float x=bits_f((uint32_t)(s[i]+0x4B400000));
        float cs=c*(1.0f/256.0f), bs=(127.0f-D/8.0f-fmaf(MAGIC,c,m-L))*(1.0f/256.0f);
        float t=fmaf(sat(fmaf(x,cs,bs)),2048.0f,MAGIC), p=bits_f(f_bits(t)<<20);
        if(p>pmax)pmax=p; rowsum+=p;
      }
      if(rowsum==0)rowzero++;
    }
    printf("kept float path c=%g: largest P %g (above 448: 448 after satfinite), rows with every P 0: %ld of 2000\n",c,pmax,rowzero);
  }
}
